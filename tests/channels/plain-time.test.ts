/**
 * Teams, Discord and email write a time as people read it, as Slack does (the UX pass: Teams'
 * Time fact and "Expires" line, Discord's Expires field and email's Time and Expires lines were
 * raw ISO 8601, "2024-05-01T12:34:56Z", beside Slack's "2024-05-01 12:34 UTC"). Teams and email:
 * time-text.ts `utcMinute`; Discord: its timestamp markup, which it shows in the reader's zone
 * (https://discord.com/developers/docs/reference#message-formatting-timestamp-styles).
 */
import { formatDiscord } from "../../handlers/channels/discord";
import { formatEmail } from "../../handlers/channels/email";
import { formatTeams } from "../../handlers/channels/teams";
import { utcMinute } from "../../handlers/time-text";
import { fixture } from "./helpers";

// approval-request.json: time 2024-05-01T12:34:56Z, expiresAt 2024-05-08T12:34:56Z (1715171696).
const request = () => fixture("approval-request");

it("utcMinute: '2024-05-01 12:34 UTC'; undefined for what is not a time", () => {
  expect(utcMinute("2024-05-01T12:34:56Z")).toBe("2024-05-01 12:34 UTC");
  expect(utcMinute("2024-05-01T14:34:56+02:00")).toBe("2024-05-01 12:34 UTC");
  expect(utcMinute("soon")).toBeUndefined();
});

it("teams: the Time fact and the Expires line", () => {
  const body = formatTeams(request(), { type: "teams" }).attachments[0].content.body as Array<{
    type: string;
    text?: string;
    facts?: Array<{ title: string; value: string }>;
  }>;
  const facts = body.find((b) => b.type === "FactSet")?.facts ?? [];
  expect(facts.find((f) => f.title === "Time")?.value).toBe("2024-05-01 12:34 UTC");
  const approval = body.find((b) => b.text?.startsWith("Approve or reject"));
  expect(approval?.text?.split("\n\n")[1]).toBe("Expires 2024-05-08 12:34 UTC.");
});

it("discord: the Expires field as a Discord timestamp, between Approvers and Details", () => {
  const fields = formatDiscord(request(), { type: "discord" }).embeds[0].fields ?? [];
  const names = fields.map((f) => f.name);
  expect(names.slice(names.indexOf("Approvers"), names.indexOf("Approvers") + 3)).toEqual([
    "Approvers",
    "Expires",
    "Details",
  ]);
  expect(fields.find((f) => f.name === "Expires")).toEqual({
    name: "Expires",
    value: "<t:1715171696:f>",
    inline: true,
  });
});

it("email: the Time and Expires lines", () => {
  const lines = formatEmail(request(), {
    type: "email",
    addresses: ["a@example.com"],
  }).message.split("\n");
  expect(lines).toContain("Time: 2024-05-01 12:34 UTC");
  expect(lines).toContain("Expires: 2024-05-08 12:34 UTC");
});
