// The test's handler: the event and what AWS's client put in the context, back as the answer.
export const handler = async (event, context) => {
  if (event?.fail) throw new TypeError(`it failed: ${event.fail}`);
  return {
    client: "aws-lambda-ric",
    awsRequestId: context.awsRequestId,
    functionName: context.functionName,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: context.memoryLimitInMB,
    remaining: context.getRemainingTimeInMillis(),
    event,
  };
};
