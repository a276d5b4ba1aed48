// The Lambdas run on nodejs22.x; this machine's Node 20 would make every AWS SDK client warn.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
// The handlers' logger (handlers/telemetry.ts) writes one JSON line per call to stdout, which jest
// would print between the results. A test that asserts on log lines sets its own level while it
// captures them (tests/approval/harness.ts captureLogs); `POWERTOOLS_LOG_LEVEL=INFO npx jest …`
// shows them all.
process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
