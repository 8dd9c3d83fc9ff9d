import { createHash } from "node:crypto";
import { type FunctionRuntime, functionLimits } from "@skiff/shared";
import yauzl from "yauzl";
import { ApiError } from "../../lib/errors.js";

/** A zip that passed validation, with what `function_code` stores of it. */
export interface CheckedZip {
  zip: Buffer;
  /** Hex SHA-256 of the zip's bytes: the row's key and what agents fetch by. */
  sha256: string;
  size: number;
  /** Bytes the entries actually inflated to (not what their headers claim). */
  unzippedSize: number;
  /** Names of the files (not directories), as stored. */
  files: Set<string>;
}

const invalid = (message: string) => new ApiError("ValidationError", `code: ${message}`);

/** Lambda's CodeSha256: the digest in base64. */
export const codeSha256Base64 = (hexSha256: string) =>
  Buffer.from(hexSha256, "hex").toString("base64");

/**
 * Reads every entry of `zip` as it inflates and refuses anything the agent could not unpack
 * safely: not a zip, an unsafe name (absolute, `..`, backslashes), more than 250 MB unzipped.
 * The total is counted from the inflated bytes, not the headers: a zip bomb's headers lie.
 */
export async function readCodeZip(zip: Buffer): Promise<CheckedZip> {
  if (zip.length > functionLimits.zippedCodeBytes)
    throw new ApiError(
      "PayloadTooLarge",
      `code: the zip is larger than ${functionLimits.zippedCodeBytes} bytes`,
    );
  let file: yauzl.ZipFile;
  try {
    // strictFileNames: a backslash in a name is refused rather than read as a separator.
    file = await yauzl.fromBufferPromise(zip, {
      lazyEntries: true,
      validateEntrySizes: true,
      strictFileNames: true,
    });
  } catch (error) {
    throw invalid(`not a valid zip file (${messageOf(error)})`);
  }
  const files = new Set<string>();
  let unzippedSize = 0;
  try {
    await new Promise<void>((done, fail) => {
      file.on("error", fail);
      file.on("end", () => done());
      file.on("entry", (entry: yauzl.Entry) => {
        const name = entry.fileName;
        if (name.startsWith("/") || name.split("/").includes(".."))
          return fail(invalid(`unsafe entry name ${JSON.stringify(name)}`));
        if (name.endsWith("/")) return file.readEntry();
        files.add(name);
        file.openReadStream(entry, (error, stream) => {
          if (error) return fail(error);
          stream.on("data", (chunk: Buffer) => {
            unzippedSize += chunk.length;
            if (unzippedSize > functionLimits.unzippedCodeBytes) {
              stream.destroy();
              fail(
                invalid(
                  `the code is larger than ${functionLimits.unzippedCodeBytes} bytes unzipped`,
                ),
              );
            }
          });
          stream.on("error", fail);
          stream.on("end", () => file.readEntry());
        });
      });
      file.readEntry();
    });
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const message = messageOf(error);
    // yauzl checks names itself as it reads the directory: say what is wrong in our words.
    if (/^(absolute path|invalid relative path|invalid characters in fileName): /.test(message))
      throw invalid(`unsafe entry name (${message}); names must be relative, without ..`);
    throw invalid(`not a valid zip file (${message})`);
  } finally {
    file.close();
  }
  if (files.size === 0) throw invalid("the zip holds no files");
  const sha256 = createHash("sha256").update(zip).digest("hex");
  return { zip, sha256, size: zip.length, unzippedSize, files };
}

/**
 * The file a runtime starts from must be in the zip, or every invocation would fail at init:
 * `bootstrap` for provided, `file.js|.mjs|.cjs` for node, `module.py` for python.
 */
export function checkEntryPoint(
  runtime: FunctionRuntime,
  handler: string | null,
  files: Set<string>,
): void {
  if (runtime === "image") throw invalid("an image function takes code.image, not a zip");
  if (runtime === "provided") {
    if (!files.has("bootstrap"))
      throw invalid("a provided function needs a bootstrap file at the root of the zip");
    return;
  }
  const module = handlerModule(handler);
  const candidates = runtime.startsWith("nodejs")
    ? [".js", ".mjs", ".cjs"].map((ext) => `${module}${ext}`)
    : [`${module.replaceAll(".", "/")}.py`];
  if (!candidates.some((name) => files.has(name)))
    throw invalid(
      `handler ${handler}: the zip has no ${candidates.join(" or ")} (paths from the zip's root)`,
    );
}

/** `dir/index.handler` -> `dir/index`: the module part of a `file.export` handler. */
export function handlerModule(handler: string | null): string {
  const at = handler?.lastIndexOf(".") ?? -1;
  if (!handler || at <= 0 || at === handler.length - 1)
    throw invalid(
      `handler must be file.export (e.g. index.handler), got ${JSON.stringify(handler)}`,
    );
  return handler.slice(0, at);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
