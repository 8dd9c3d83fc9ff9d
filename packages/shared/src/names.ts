import { z } from "zod";

/** Names of families, services, functions and repositories (DESIGN.md). */
export const namePattern = /^[a-z0-9][a-z0-9-_.]{0,62}$/;

export const nameSchema = z
  .string()
  .regex(
    namePattern,
    "must be 1-63 characters of a-z, 0-9, '-', '_' or '.', starting with a letter or digit",
  );
