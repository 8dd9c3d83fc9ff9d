// The key of the api -> agent control protocol, derived as the agent derives it.
export { functionsControlKey } from "@skiff/agent";
