/**
 * The one Adaptive Card message shape both Teams formats send (teams.ts, teams-digest.ts), apart
 * so that neither imports the other at run time (teams.ts already imports teams-digest.ts).
 */
import type { AdaptiveElement, TeamsMessage } from "./teams";

/**
 * What a card counts toward Teams' size limit, in bytes: its JSON with every non-ASCII UTF-16 code
 * unit counted as a `\uXXXX` escape (6 bytes), the largest form a re-serialization of the body
 * can take. Teams does not measure the request body: it refused as "message properties size
 * 28,897 bytes > 28,672" a Workflows request of 24,453 bytes (MicrosoftDocs/msteams-docs#11274),
 * so cards are built to {@link TEAMS_CARD_BUDGET_BYTES} of this measure, not to 28 KB of body.
 */
export function cardBytes(value: unknown): number {
  return JSON.stringify(value).replace(/[\u0080-\uffff]/g, "\\uXXXX").length;
}

/**
 * The size every Teams card (a notification's or a digest's) is built to, in {@link cardBytes}:
 * 20 KB. Teams refuses a message over 28 KB (28,672 bytes,
 * https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/format-your-bot-messages)
 * of "message properties", which were 18 % larger than the request body in the one refusal on
 * record (28,897 for 24,453 bytes, msteams-docs#11274); 20 KB leaves 40 % (28,672 / 20,480) for
 * that growth, and non-ASCII text (CJK, emoji) is counted at its escaped size. The Workflows
 * webhook answers 202 before the flow posts the card (msteams-docs#4145), so a card Teams refuses
 * later is lost without an error: the margin is the only protection.
 */
export const TEAMS_CARD_BUDGET_BYTES = 20 * 1024;

/**
 * The Workflows webhook message carrying one Adaptive Card (version 1.4, as before) of
 * `body` and `actions`: a notification's card, or a digest's (teams-digest.ts).
 */
export function adaptiveCardMessage(
  body: AdaptiveElement[],
  actions: TeamsMessage["attachments"][number]["content"]["actions"],
): TeamsMessage {
  return {
    type: "message",
    attachments: [
      {
        contentType: "application/vnd.microsoft.card.adaptive",
        content: {
          $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
          type: "AdaptiveCard",
          version: "1.4",
          body,
          actions,
        },
      },
    ],
  };
}
