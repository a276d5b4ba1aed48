/**
 * Where an execution came from: the trigger in words, and the source revision (commit id,
 * message, link) from the event's trigger or from a source action's result.
 */
import type { SourceRevision } from "../types";
import { safeHttpUrl } from "../url";
import { compact, isObject } from "./fields";
import type { CodePipelineEvent } from "./model";

/** `execution-trigger` in words, e.g. "StartPipelineExecution by arn:aws:sts::…" or "WebhookV2 on branch main". */
export function describeTrigger(trigger: CodePipelineEvent["trigger"]): string | undefined {
  if (trigger === undefined) return undefined;
  const git =
    trigger.commitId !== undefined || trigger.branch !== undefined || trigger.tag !== undefined;
  let words = trigger.type ?? (git ? `${trigger.providerType ?? "source"} change` : undefined);
  if (words === undefined) return undefined;
  if (trigger.detail !== undefined) {
    const byPerson = trigger.type === "StartPipelineExecution" || trigger.type === "ManualRollback";
    words += byPerson ? ` by ${trigger.detail}` : ` (${trigger.detail})`;
  }
  if (trigger.branch !== undefined) words += ` on branch ${trigger.branch}`;
  else if (trigger.tag !== undefined) words += ` on tag ${trigger.tag}`;
  return words;
}

/** Commit links for the hosted providers whose URL layout is public knowledge. */
function commitUrl(
  provider: string | undefined,
  repository: string | undefined,
  id: string | undefined,
): string | undefined {
  if (!provider || !repository || !id) return undefined;
  if (!/^[0-9a-f]{7,64}$/i.test(id) || !/^[\w.-]+(\/[\w.-]+)+$/.test(repository)) return undefined;
  switch (provider) {
    case "GitHub":
      return `https://github.com/${repository}/commit/${id}`;
    case "GitLab":
      return `https://gitlab.com/${repository}/-/commit/${id}`;
    case "Bitbucket":
      return `https://bitbucket.org/${repository}/commits/${id}`;
    default:
      // Self-managed GitLab, GitHub Enterprise Server: the host is not in the event.
      return undefined;
  }
}

/**
 * The text people should see for a source revision summary. CodeStarSourceConnection (GitHub,
 * GitLab, Bitbucket) reports it as JSON, `{"ProviderType":"GitHub","CommitMessage":"…"}`: that
 * gives the commit message, trimmed. Any other summary (plain text, not JSON after all, cut by a
 * cap, or with an empty message) is returned as it is; undefined stays undefined.
 */
export function commitMessageOf(summary: string | undefined): string | undefined {
  if (summary === undefined || !summary.startsWith("{")) return summary;
  try {
    const parsed: unknown = JSON.parse(summary);
    if (isObject(parsed) && typeof parsed.CommitMessage === "string") {
      return parsed.CommitMessage.trim() || summary;
    }
  } catch {
    // Not JSON after all (or cut by the cap): show it as it is.
  }
  return summary;
}

/** True for a Source action's event. */
export function isSourceAction(ev: CodePipelineEvent): boolean {
  return ev.level === "action" && ev.actionType?.category === "Source";
}

/** The source revision an event names: from a Git trigger, or a succeeded source action. */
export function revisionOf(ev: CodePipelineEvent): SourceRevision | undefined {
  const t = ev.trigger;
  if (t?.commitId !== undefined || t?.commitMessage !== undefined) {
    return compact({
      id: t.commitId,
      message: t.commitMessage,
      author: t.author,
      url: commitUrl(t.providerType, t.repository, t.commitId),
    });
  }
  // A source action's result is the revision it fetched: commit id, message and link.
  if (isSourceAction(ev) && ev.state === "SUCCEEDED") {
    const r = ev.result;
    if (r?.externalExecutionId !== undefined) {
      return compact({
        id: r.externalExecutionId,
        message: commitMessageOf(r.externalExecutionSummary),
        url: safeHttpUrl(r.externalExecutionUrl),
      });
    }
  }
  return undefined;
}
