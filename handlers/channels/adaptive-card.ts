/**
 * The one Adaptive Card message shape both Teams formats send (teams.ts, teams-digest.ts), apart
 * so that neither imports the other at run time (teams.ts already imports teams-digest.ts).
 */
import type { AdaptiveElement, TeamsMessage } from "./teams";

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
