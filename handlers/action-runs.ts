/**
 * Every run of every action of one pipeline execution, from CodePipeline's
 * `ListActionExecutions` filtered by `pipelineExecutionId` (API reference,
 * API_ListActionExecutions.html: at most 100 per page, newest first). Unlike GetPipelineState, it
 * lists every run in all three execution modes, and in PARALLEL mode it is where an approval
 * run's token is (`output.executionResult.externalExecutionId`; REFERENCE.md, CodePipeline's
 * lifecycle). The approval work (approval/token.ts) and the reminder scan (reminders/decide.ts)
 * read it.
 */
import type * as CodePipelineSdk from "@aws-sdk/client-codepipeline";
import { codepipeline, codepipelineFor } from "./aws";
import type { PipelineRef } from "./contracts/pipeline-id";

/** Pages read at most (100 runs each: an execution has far fewer). */
const MAX_PAGES = 5;

/**
 * The action runs of `executionId` of `pipeline` (a name: the home account's; or a
 * {@link PipelineRef}, read in its account and region through `codepipelineFor`), at most 500. The SDK is required here, not at
 * the archive's top, so that a cold start that never asks does not load it. Throws the SDK's
 * errors (throttling, PipelineNotFoundException, an abort through `signal`).
 */
export async function listActionRuns(
  pipeline: string | PipelineRef,
  executionId: string,
  signal?: AbortSignal,
): Promise<CodePipelineSdk.ActionExecutionDetail[]> {
  const { ListActionExecutionsCommand } =
    require("@aws-sdk/client-codepipeline") as typeof CodePipelineSdk;
  const client = typeof pipeline === "string" ? codepipeline() : codepipelineFor(pipeline);
  const name = typeof pipeline === "string" ? pipeline : pipeline.name;
  const runs: CodePipelineSdk.ActionExecutionDetail[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const out = await client.send(
      new ListActionExecutionsCommand({
        pipelineName: name,
        filter: { pipelineExecutionId: executionId },
        maxResults: 100,
        nextToken,
      }),
      { abortSignal: signal },
    );
    runs.push(...(out.actionExecutionDetails ?? []));
    nextToken = out.nextToken;
    if (!nextToken) break;
  }
  return runs;
}
