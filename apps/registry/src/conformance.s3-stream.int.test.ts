import { useTestStorage } from "./test/stack.js";

// The conformance suite again, over the S3 store streamed through the registry.
useTestStorage("s3-stream");
await import("./conformance.int.test.js");
