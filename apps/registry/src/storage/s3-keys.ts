// The shapes of the keys the S3 store writes. No AWS SDK here: env.ts checks the configured
// prefix with this without loading the SDK.

/** Keys the store writes are plain ASCII, so a prefix of these needs no URL escaping anywhere. */
export const safePrefix = /^[A-Za-z0-9._/-]{0,200}$/;
/** What `safePrefix` allows, for error messages. */
export const safePrefixRule = "letters, digits, '.', '_', '/' and '-' only";
/** An upload id as the registry makes them. */
export const safeId = /^[A-Za-z0-9_-]{1,100}$/;
export const safeDigest = /^(sha256|sha512):([a-f0-9]{64,128})$/;
