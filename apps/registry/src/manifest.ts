import { z } from "zod";
import { parseDigest } from "./digest.js";
import { RegistryError } from "./errors.js";

export const mediaTypes = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
} as const;

const indexTypes: ReadonlySet<string> = new Set([mediaTypes.ociIndex, mediaTypes.dockerList]);
const imageTypes: ReadonlySet<string> = new Set([
  mediaTypes.ociManifest,
  mediaTypes.dockerManifest,
]);

/** The spec's bound on manifests; the reference registry and ECR use the same. */
export const maxManifestBytes = 4 * 1024 * 1024;

const descriptorSchema = z.looseObject({
  mediaType: z.string().max(255),
  digest: z.string().max(200),
  size: z.number().int().min(0),
  urls: z.array(z.string()).optional(),
  artifactType: z.string().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type Descriptor = z.infer<typeof descriptorSchema>;

const manifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptorSchema.optional(),
  layers: z.array(descriptorSchema).optional(),
  manifests: z.array(descriptorSchema).optional(),
  subject: descriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export interface ParsedManifest {
  mediaType: string;
  /** Blobs that must be in the repository (config and distributable layers). */
  blobs: Descriptor[];
  /** Manifests an index names; they need not be in the repository (a sparse index). */
  children: Descriptor[];
  subject: string | null;
  /** What the referrers API reports: `artifactType`, else the config's media type. */
  artifactType: string | null;
  annotations: Record<string, string> | null;
}

/**
 * Checks a manifest pushed with `contentType` and lists what it references. Schema 1 and
 * unknown media types are refused: every client of the last years pushes schema 2 or OCI.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new RegistryError("MANIFEST_INVALID", "the manifest is not valid JSON");
  }
  const result = manifestSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.join(".")}: ${issue.message}`,
    );
    throw new RegistryError("MANIFEST_INVALID", `invalid manifest: ${problems.join("; ")}`);
  }
  const manifest = result.data;
  const declared = contentType?.split(";")[0]?.trim();
  const mediaType =
    manifest.mediaType ??
    declared ??
    (manifest.manifests ? mediaTypes.ociIndex : mediaTypes.ociManifest);
  if (
    manifest.mediaType &&
    declared &&
    declared !== manifest.mediaType &&
    declared !== "application/json"
  ) {
    throw new RegistryError(
      "MANIFEST_INVALID",
      `Content-Type ${declared} differs from the manifest's mediaType ${manifest.mediaType}`,
    );
  }
  const descriptors = [
    ...(manifest.config ? [manifest.config] : []),
    ...(manifest.layers ?? []),
    ...(manifest.manifests ?? []),
    ...(manifest.subject ? [manifest.subject] : []),
  ];
  for (const descriptor of descriptors) parseDigest(descriptor.digest);

  if (indexTypes.has(mediaType)) {
    if (!manifest.manifests)
      throw new RegistryError("MANIFEST_INVALID", "an index needs `manifests`");
    return {
      mediaType,
      blobs: [],
      children: manifest.manifests,
      subject: manifest.subject?.digest ?? null,
      artifactType: manifest.artifactType ?? null,
      annotations: manifest.annotations ?? null,
    };
  }
  if (!imageTypes.has(mediaType)) {
    throw new RegistryError("MANIFEST_INVALID", `unsupported manifest media type ${mediaType}`);
  }
  if (!manifest.config || !manifest.layers) {
    throw new RegistryError("MANIFEST_INVALID", "an image manifest needs `config` and `layers`");
  }
  // Non-distributable layers live elsewhere (their `urls`): the registry does not hold them.
  const layers = manifest.layers.filter((layer) => !(layer.urls && layer.urls.length > 0));
  return {
    mediaType,
    blobs: [manifest.config, ...layers],
    children: [],
    subject: manifest.subject?.digest ?? null,
    artifactType: manifest.artifactType ?? manifest.config.mediaType,
    annotations: manifest.annotations ?? null,
  };
}
