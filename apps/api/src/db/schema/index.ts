export * from "./api-tokens.js";
