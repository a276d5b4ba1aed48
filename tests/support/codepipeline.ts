/**
 * The AWS stand-ins with an SDK CodePipeline client pointed at them, for the files that call the
 * CodePipeline stand-in through the real client (its API as the SDK serializes it).
 */
import { CodePipelineClient } from "@aws-sdk/client-codepipeline";
import { startAwsStandins, type AwsStandins } from "../../testing";

/**
 * Starts the stand-ins and a CodePipelineClient on them for the file (region us-east-1, the
 * stand-ins' credentials), resets the stand-ins before each test, and closes both after the file;
 * `use` receives them once started.
 */
export function useCodePipelineStandin(
  use: (started: { aws: AwsStandins; client: CodePipelineClient }) => void,
): void {
  let aws: AwsStandins | undefined;
  let client: CodePipelineClient | undefined;
  beforeAll(async () => {
    aws = await startAwsStandins();
    client = new CodePipelineClient({
      endpoint: aws.url,
      region: "us-east-1",
      credentials: { accessKeyId: "standin", secretAccessKey: "standin" },
    });
    use({ aws, client });
  });
  afterAll(async () => {
    client?.destroy();
    await aws?.close();
  });
  beforeEach(() => aws?.reset());
}
