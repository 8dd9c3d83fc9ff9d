import { useTestStorage } from "./test/stack.js";

// The conformance suite again, over the S3 store pulled by redirect (fetch follows the 307 to
// the presigned URL, sending its Range along).
useTestStorage("s3-redirect");
await import("./conformance.int.test.js");
