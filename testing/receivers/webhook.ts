/**
 * A generic webhook endpoint: anything the `webhook` channel posts (handlers/channels) is accepted
 * with `200 ok`. There is no third-party contract to model here — the channel's own documented
 * payload is asserted by the tests on what was recorded.
 */
import { text, type Answer } from "./core";

/** Answers one webhook post. */
export function webhook(): Answer {
  return text(200, "ok");
}
