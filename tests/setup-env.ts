// The Lambdas run on nodejs22.x; this machine's Node 20 would make every AWS SDK client warn.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
