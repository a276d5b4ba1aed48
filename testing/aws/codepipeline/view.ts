/**
 * The CodePipeline model as plain JSON for the sandbox's `GET /api/codepipeline`: per pipeline
 * its execution mode, its executions (attempt, mode, type, status, trigger, rollback target) and
 * its approval runs, pending and decided (who, when, which token — a local fake shows its tokens).
 */
import type { AwsState } from "../core";
import { scopesOf } from "./accounts";
import { actionsOf, modeOf, runsOf, type ExecutionMode } from "./model";

/** One execution in {@link CodePipelineView}. */
export interface ExecutionView {
  executionId: string;
  status: string;
  attempt: number;
  executionMode: ExecutionMode;
  executionType: "STANDARD" | "ROLLBACK";
  trigger?: { triggerType: string; triggerDetail?: string };
  rollbackTargetExecutionId?: string;
  statusSummary?: string;
  /** ISO 8601. */
  startTime?: string;
  /** The stage it waits to enter (QUEUED / SUPERSEDED). */
  waitingAt?: string;
}

/** One approval run in {@link CodePipelineView}. */
export interface ApprovalView {
  stage: string;
  action: string;
  executionId: string;
  actionExecutionId: string;
  attempt: number;
  token?: string;
  /** ISO 8601. */
  startedAt: string;
  expiresAt?: string;
  /** Pending runs only. */
  status: string;
  /** Decided runs: Approved | Rejected | Expired, who (ARN, absent for an expiry), when, summary. */
  outcome?: string;
  decidedBy?: string;
  decidedAt?: string;
  summary?: string;
  /** Whether a newer run of the action replaced this one (its token is no longer valid). */
  replaced: boolean;
}

/** The stand-in's state per pipeline. */
export type CodePipelineView = Record<
  string,
  {
    /** Where the pipeline lives (set by {@link codePipelineViewOfScopes}). */
    account?: string;
    region?: string;
    executionMode: ExecutionMode;
    executions: ExecutionView[];
    approvals: { pending: ApprovalView[]; decided: ApprovalView[] };
  }
>;

/**
 * The outcome of an approval run decided outside the model (a posted event): a FAILED approval
 * without a summary expired (REFERENCE.md, CodePipeline's lifecycle), with one it was rejected.
 */
function outcomeOf(status: string, summary: string | undefined): string | undefined {
  if (status === "Succeeded") return "Approved";
  if (status === "Failed") return summary ? "Rejected" : "Expired";
  return status === "Abandoned" ? "Abandoned" : undefined;
}

/** The CodePipeline model as JSON (executions oldest first, approval runs oldest first). */
export function codePipelineView(state: AwsState): CodePipelineView {
  const view: CodePipelineView = {};
  for (const [name, pipeline] of Object.entries(state.codepipeline.pipelines)) {
    const executions = Object.entries(pipeline.executions)
      .map(([executionId, e]) => ({
        executionId,
        status: e.status,
        attempt: e.attempt ?? 1,
        executionMode: e.executionMode ?? modeOf(pipeline),
        executionType: e.executionType ?? ("STANDARD" as const),
        trigger: e.trigger,
        rollbackTargetExecutionId: e.rollbackTargetExecutionId,
        statusSummary: e.statusSummary,
        startTime: e.startTime?.toISOString(),
        waitingAt: e.waitingAt,
      }))
      .sort((a, b) => (a.startTime ?? "").localeCompare(b.startTime ?? ""));
    const runs = actionsOf(pipeline)
      .filter(({ action }) => action.category === "Approval")
      .flatMap(({ stage, action }) => {
        const all = runsOf(action);
        return all.map((run): ApprovalView => {
          const newer = all.slice(all.indexOf(run) + 1);
          const replaced = newer.some(
            (r) =>
              modeOf(pipeline) !== "PARALLEL" || r.pipelineExecutionId === run.pipelineExecutionId,
          );
          return {
            stage: stage.name,
            action: action.name,
            executionId: run.pipelineExecutionId,
            actionExecutionId: run.actionExecutionId,
            attempt: run.attempt,
            token: run.token,
            startedAt: run.startTime.toISOString(),
            expiresAt: run.expiresAt?.toISOString(),
            status: run.status,
            outcome: run.decision?.outcome ?? outcomeOf(run.status, run.summary),
            decidedBy: run.decision?.by ?? run.lastUpdatedBy,
            decidedAt: (
              run.decision?.at ?? (run.status === "InProgress" ? undefined : run.lastUpdateTime)
            )?.toISOString(),
            summary: run.summary,
            replaced,
          };
        });
      });
    view[name] = {
      executionMode: modeOf(pipeline),
      executions,
      approvals: {
        pending: runs.filter((r) => r.status === "InProgress" && !r.replaced),
        decided: runs.filter((r) => r.status !== "InProgress"),
      },
    };
  }
  return view;
}

/**
 * Every (account, region) scope's pipelines (accounts.ts `scopesOf`), keyed as the notifier keys
 * them (handlers/contracts/pipeline-id.ts `pipelineKeyOf`): the bare name in the home scope, the
 * pipeline's ARN `arn:aws:codepipeline:<region>:<account>:<name>` elsewhere, so same-named
 * pipelines of two accounts stay apart; each entry names its `account` and `region`.
 */
export function codePipelineViewOfScopes(state: AwsState): CodePipelineView {
  const out: CodePipelineView = {};
  scopesOf(state).forEach((scope, i) => {
    for (const [name, view] of Object.entries(codePipelineView(scope.state))) {
      const key = i === 0 ? name : `arn:aws:codepipeline:${scope.region}:${scope.account}:${name}`;
      out[key] = { account: scope.account, region: scope.region, ...view };
    }
  });
  return out;
}
