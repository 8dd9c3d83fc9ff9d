import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushBlob, pushImage, randomImage, sha256 } from "./test/oci.js";
import { startTestRegistry, suiteDrivers, type TestRegistry } from "./test/stack.js";

// A conformance suite written from the endpoint table of the OCI Distribution Spec v1.1 (end-1
// to end-13), driven with fetch against the real server, once over PostgreSQL and once over
// PGlite (`npm start` without DATABASE_URL): raw SQL answers differently on each driver.
let registry: TestRegistry;
let token: string;
const repo = "team/app";

async function errorCode(response: Response): Promise<string> {
  const body = (await response.json()) as { errors: { code: string }[] };
  return body.errors[0]?.code ?? "none";
}

describe.each(suiteDrivers())("over %s", (driver) => {
  beforeAll(async () => {
    registry = await startTestRegistry({ driver });
    token = registry.token({ "team/app": ["pull", "push", "delete"], other: ["pull", "push"] });
  });
  afterAll(() => registry.close());

  describe("end-1 GET /v2/ and auth", () => {
    it("answers 401 with a Bearer challenge naming the token realm without a token", async () => {
      const response = await registry.fetch("/v2/");
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toMatch(
        /^Bearer realm="http:\/\/127\.0\.0\.1:9\/v1\/registry\/token",service="skiff-registry"/,
      );
      expect(await errorCode(response)).toBe("UNAUTHORIZED");
    });

    it("answers 200 with a valid token, 401 with a forged one", async () => {
      expect((await registry.fetch("/v2/", { token })).status).toBe(200);
      const forged = `${token.slice(0, -4)}AAAA`;
      const response = await registry.fetch("/v2/", { token: forged });
      expect(response.status).toBe(401);
    });

    it("sends the repository scope in the challenge of a push", async () => {
      const response = await registry.fetch(`/v2/${repo}/blobs/uploads/`, { method: "POST" });
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toContain(
        'scope="repository:team/app:pull,push"',
      );
    });

    it("refuses a push with a pull-only token with DENIED, and stores nothing", async () => {
      const readOnly = registry.token({ [repo]: ["pull"] });
      const data = randomBytes(100);
      const response = await registry.fetch(`/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, {
        method: "POST",
        token: readOnly,
        body: data,
      });
      expect(response.status).toBe(403);
      expect(await errorCode(response)).toBe("DENIED");
      const head = await registry.fetch(`/v2/${repo}/blobs/${sha256(data)}`, {
        method: "HEAD",
        token,
      });
      expect(head.status).toBe(404);
    });

    it("keeps a token for one repository out of another", async () => {
      const narrow = registry.token({ other: ["pull", "push"] });
      const response = await registry.fetch(`/v2/${repo}/tags/list`, { token: narrow });
      expect(response.status).toBe(403);
    });
  });

  describe("blobs: end-2 GET/HEAD, end-4a/4b/5/6 uploads, end-10 DELETE, end-11 mount", () => {
    it("takes a monolithic POST ?digest= and serves GET, HEAD and Range", async () => {
      const data = randomBytes(5000);
      const digest = await pushBlob(registry, repo, data, token);
      const head = await registry.fetch(`/v2/${repo}/blobs/${digest}`, { method: "HEAD", token });
      expect(head.status).toBe(200);
      expect(head.headers.get("content-length")).toBe("5000");
      expect(head.headers.get("docker-content-digest")).toBe(digest);
      expect(head.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
      // The registry's own answer: a 307 to the bucket when the store redirects pulls.
      const answer = await registry.fetch(`/v2/${repo}/blobs/${digest}`, {
        token,
        redirect: "manual",
      });
      expect(answer.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
      await answer.body?.cancel();
      const get = await registry.fetch(`/v2/${repo}/blobs/${digest}`, { token });
      expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);
      const range = await registry.fetch(`/v2/${repo}/blobs/${digest}`, {
        token,
        headers: { range: "bytes=10-19" },
      });
      expect(range.status).toBe(206);
      expect(range.headers.get("content-range")).toBe("bytes 10-19/5000");
      expect(Buffer.from(await range.arrayBuffer()).equals(data.subarray(10, 20))).toBe(true);
      const bad = await registry.fetch(`/v2/${repo}/blobs/${digest}`, {
        token,
        headers: { range: "bytes=9000-9999" },
      });
      expect(bad.status).toBe(416);
    });

    it("takes POST then PUT with the body", async () => {
      const data = randomBytes(3000);
      const post = await registry.fetch(`/v2/${repo}/blobs/uploads/`, { method: "POST", token });
      expect(post.status).toBe(202);
      const location = post.headers.get("location") ?? "";
      expect(location).toMatch(/^\/v2\/team\/app\/blobs\/uploads\/[a-f0-9]{32}$/);
      const put = await registry.fetch(`${location}?digest=${sha256(data)}`, {
        method: "PUT",
        token,
        body: data,
        headers: { "content-type": "application/octet-stream" },
      });
      expect(put.status, await put.clone().text()).toBe(201);
      expect(put.headers.get("location")).toBe(`/v2/${repo}/blobs/${sha256(data)}`);
    });

    it("takes chunks in order, reports progress, refuses an out-of-order chunk with 416", async () => {
      const data = randomBytes(10_000);
      const post = await registry.fetch(`/v2/${repo}/blobs/uploads/`, { method: "POST", token });
      const location = post.headers.get("location") ?? "";
      const first = await registry.fetch(location, {
        method: "PATCH",
        token,
        body: data.subarray(0, 4000),
        headers: { "content-range": "0-3999", "content-type": "application/octet-stream" },
      });
      expect(first.status).toBe(202);
      expect(first.headers.get("range")).toBe("0-3999");
      const skipped = await registry.fetch(location, {
        method: "PATCH",
        token,
        body: data.subarray(5000, 6000),
        headers: { "content-range": "5000-5999", "content-type": "application/octet-stream" },
      });
      expect(skipped.status).toBe(416);
      const status = await registry.fetch(location, { token });
      expect(status.status).toBe(204);
      expect(status.headers.get("range")).toBe("0-3999");
      const second = await registry.fetch(location, {
        method: "PATCH",
        token,
        body: data.subarray(4000),
        headers: { "content-range": "4000-9999", "content-type": "application/octet-stream" },
      });
      expect(second.status).toBe(202);
      const put = await registry.fetch(`${location}?digest=${sha256(data)}`, {
        method: "PUT",
        token,
      });
      expect(put.status).toBe(201);
      const get = await registry.fetch(`/v2/${repo}/blobs/${sha256(data)}`, { token });
      expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);
    });

    it("takes a streamed PATCH without Content-Range and a sha512 digest", async () => {
      const data = randomBytes(2000);
      const digest = `sha512:${createHash("sha512").update(data).digest("hex")}`;
      const post = await registry.fetch(`/v2/${repo}/blobs/uploads/`, { method: "POST", token });
      const location = post.headers.get("location") ?? "";
      await registry.fetch(location, { method: "PATCH", token, body: data });
      const put = await registry.fetch(`${location}?digest=${digest}`, { method: "PUT", token });
      expect(put.status).toBe(201);
      const head = await registry.fetch(`/v2/${repo}/blobs/${digest}`, { method: "HEAD", token });
      expect(head.status).toBe(200);
    });

    it("refuses a wrong digest with DIGEST_INVALID and stores nothing", async () => {
      const data = randomBytes(1000);
      const claimed = sha256("something else");
      const response = await registry.fetch(`/v2/${repo}/blobs/uploads/?digest=${claimed}`, {
        method: "POST",
        token,
        body: data,
      });
      expect(response.status).toBe(400);
      expect(await errorCode(response)).toBe("DIGEST_INVALID");
      for (const digest of [claimed, sha256(data)]) {
        const head = await registry.fetch(`/v2/${repo}/blobs/${digest}`, { method: "HEAD", token });
        expect(head.status).toBe(404);
      }
      const malformed = await registry.fetch(`/v2/${repo}/blobs/sha256:xyz`, { token });
      expect(malformed.status).toBe(400);
      expect(await errorCode(malformed)).toBe("DIGEST_INVALID");
    });

    it("keeps nothing of a truncated chunk: the upload stays where it was", async () => {
      const post = await registry.fetch(`/v2/${repo}/blobs/uploads/`, { method: "POST", token });
      const location = post.headers.get("location") ?? "";
      await new Promise<void>((done) => {
        const req = request(`${registry.url}${location}`, {
          method: "PATCH",
          headers: { authorization: `Bearer ${token}`, "content-length": "100000" },
        });
        req.on("error", () => done());
        req.write(randomBytes(30_000));
        setTimeout(() => {
          req.destroy();
          setTimeout(done, 300);
        }, 200);
      });
      const status = await registry.fetch(location, { token });
      expect(status.status).toBe(204);
      expect(status.headers.get("range")).toBe("0-0");
      const data = randomBytes(10);
      const put = await registry.fetch(`${location}?digest=${sha256(data)}`, {
        method: "PUT",
        token,
        body: data,
      });
      expect(put.status).toBe(201);
    });

    it("cancels an upload with DELETE (a push token may); the session is then unknown", async () => {
      // Cancelling is part of pushing: a token with pull and push, without delete, may.
      const pusher = registry.token({ [repo]: ["pull", "push"] });
      const post = await registry.fetch(`/v2/${repo}/blobs/uploads/`, {
        method: "POST",
        token: pusher,
      });
      const location = post.headers.get("location") ?? "";
      const cancel = await registry.fetch(location, { method: "DELETE", token: pusher });
      expect(cancel.status, await cancel.clone().text()).toBe(204);
      const status = await registry.fetch(location, { token });
      expect(status.status).toBe(404);
      expect(await errorCode(status)).toBe("BLOB_UPLOAD_UNKNOWN");
    });

    it("mounts a blob from another repository (201), falls back to an upload (202)", async () => {
      const digest = await pushBlob(registry, "other", randomBytes(700), token);
      const mount = await registry.fetch(`/v2/${repo}/blobs/uploads/?mount=${digest}&from=other`, {
        method: "POST",
        token,
      });
      expect(mount.status).toBe(201);
      expect(mount.headers.get("docker-content-digest")).toBe(digest);
      expect(
        (await registry.fetch(`/v2/${repo}/blobs/${digest}`, { method: "HEAD", token })).status,
      ).toBe(200);
      const unknown = sha256("never pushed");
      const fallback = await registry.fetch(
        `/v2/${repo}/blobs/uploads/?mount=${unknown}&from=other`,
        {
          method: "POST",
          token,
        },
      );
      expect(fallback.status).toBe(202);
      // Without pull on the source, no mount either.
      const narrow = registry.token({ [repo]: ["pull", "push"] });
      const secret = await pushBlob(registry, "other", randomBytes(10), token);
      const denied = await registry.fetch(`/v2/${repo}/blobs/uploads/?mount=${secret}&from=other`, {
        method: "POST",
        token: narrow,
      });
      expect(denied.status).toBe(202);
    });

    it("deletes a blob from a repository (202), then it is unknown there", async () => {
      const digest = await pushBlob(registry, repo, randomBytes(50), token);
      const del = await registry.fetch(`/v2/${repo}/blobs/${digest}`, { method: "DELETE", token });
      expect(del.status).toBe(202);
      const get = await registry.fetch(`/v2/${repo}/blobs/${digest}`, { token });
      expect(get.status).toBe(404);
      expect(await errorCode(get)).toBe("BLOB_UNKNOWN");
    });
  });

  describe("manifests: end-3 GET/HEAD, end-7 PUT, end-9 DELETE", () => {
    it("stores a manifest by tag and serves it byte for byte with its headers", async () => {
      const image = randomImage();
      const digest = await pushImage(registry, repo, "v1", token, image);
      for (const reference of ["v1", digest]) {
        const get = await registry.fetch(`/v2/${repo}/manifests/${reference}`, { token });
        expect(get.status).toBe(200);
        expect(get.headers.get("content-type")).toBe("application/vnd.oci.image.manifest.v1+json");
        expect(get.headers.get("docker-content-digest")).toBe(digest);
        expect(get.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
        expect(Buffer.from(await get.arrayBuffer()).equals(image.bytes)).toBe(true);
      }
      const head = await registry.fetch(`/v2/${repo}/manifests/v1`, { method: "HEAD", token });
      expect(head.headers.get("content-length")).toBe(String(image.bytes.length));
    });

    it("takes a PUT by digest with ?tag= and refuses a digest that does not match", async () => {
      const image = randomImage();
      await pushImage(registry, repo, "scratch", token, image);
      const digest = sha256(image.bytes);
      const put = await registry.fetch(`/v2/${repo}/manifests/${digest}?tag=a&tag=b`, {
        method: "PUT",
        token,
        body: image.bytes,
        headers: { "content-type": image.manifest.mediaType },
      });
      expect(put.status).toBe(201);
      for (const tag of ["a", "b"]) {
        const head = await registry.fetch(`/v2/${repo}/manifests/${tag}`, {
          method: "HEAD",
          token,
        });
        expect(head.headers.get("docker-content-digest")).toBe(digest);
      }
      const wrong = await registry.fetch(`/v2/${repo}/manifests/${sha256("x")}`, {
        method: "PUT",
        token,
        body: image.bytes,
        headers: { "content-type": image.manifest.mediaType },
      });
      expect(wrong.status).toBe(400);
      expect(await errorCode(wrong)).toBe("DIGEST_INVALID");
    });

    it("answers the sha512 digest a manifest was pushed by, on the PUT and on GET/HEAD by tag", async () => {
      const image = randomImage();
      await pushImage(registry, repo, "plain", token, image);
      const digest = `sha512:${createHash("sha512").update(image.bytes).digest("hex")}`;
      const put = await registry.fetch(`/v2/${repo}/manifests/${digest}?tag=long`, {
        method: "PUT",
        token,
        body: image.bytes,
        headers: { "content-type": image.manifest.mediaType },
      });
      expect(put.status, await put.clone().text()).toBe(201);
      expect(put.headers.get("docker-content-digest")).toBe(digest);
      expect(put.headers.get("location")).toBe(`/v2/${repo}/manifests/${digest}`);
      for (const method of ["GET", "HEAD"]) {
        const byTag = await registry.fetch(`/v2/${repo}/manifests/long`, { method, token });
        expect(byTag.status).toBe(200);
        expect(byTag.headers.get("docker-content-digest"), method).toBe(digest);
        const byDigest = await registry.fetch(`/v2/${repo}/manifests/${digest}`, { method, token });
        expect(byDigest.status).toBe(200);
        expect(byDigest.headers.get("docker-content-digest"), method).toBe(digest);
      }
      // The same bytes pushed by tag alone stay under their sha256 digest.
      const plain = await registry.fetch(`/v2/${repo}/manifests/plain`, { method: "HEAD", token });
      expect(plain.headers.get("docker-content-digest")).toBe(sha256(image.bytes));
    });

    it("refuses a manifest naming a missing blob with MANIFEST_BLOB_UNKNOWN, storing nothing", async () => {
      const image = randomImage();
      await pushBlob(registry, repo, image.config, token);
      const put = await registry.fetch(`/v2/${repo}/manifests/missing`, {
        method: "PUT",
        token,
        body: image.bytes,
        headers: { "content-type": image.manifest.mediaType },
      });
      expect(put.status).toBe(400);
      expect(await errorCode(put)).toBe("MANIFEST_BLOB_UNKNOWN");
      expect((await registry.fetch(`/v2/${repo}/manifests/missing`, { token })).status).toBe(404);
      const byDigest = await registry.fetch(`/v2/${repo}/manifests/${sha256(image.bytes)}`, {
        token,
      });
      expect(await errorCode(byDigest)).toBe("MANIFEST_UNKNOWN");
    });

    it("refuses invalid manifests, invalid tags and manifests over 4 MiB", async () => {
      const notJson = await registry.fetch(`/v2/${repo}/manifests/bad`, {
        method: "PUT",
        token,
        body: "{not json",
        headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
      });
      expect(await errorCode(notJson)).toBe("MANIFEST_INVALID");
      const badTag = await registry.fetch(`/v2/${repo}/manifests/-bad`, {
        method: "PUT",
        token,
        body: randomImage().bytes,
      });
      expect(await errorCode(badTag)).toBe("TAG_INVALID");
      const huge = Buffer.alloc(4 * 1024 * 1024 + 10, 32);
      const tooLarge = await registry.fetch(`/v2/${repo}/manifests/huge`, {
        method: "PUT",
        token,
        body: huge,
        headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
      });
      expect(tooLarge.status).toBe(413);
      expect(await errorCode(tooLarge)).toBe("MANIFEST_TOO_LARGE");
    });

    it("stores an index whose children are in the repository, and a sparse one whose are not", async () => {
      const amd = await pushImage(registry, repo, "amd64", token);
      const arm = await pushImage(registry, repo, "arm64", token);
      const index = {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: amd,
            size: 10,
            platform: { architecture: "amd64", os: "linux" },
          },
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: arm,
            size: 10,
            platform: { architecture: "arm64", os: "linux" },
          },
        ],
      };
      const body = JSON.stringify(index);
      const put = await registry.fetch(`/v2/${repo}/manifests/multi`, {
        method: "PUT",
        token,
        body,
        headers: { "content-type": index.mediaType },
      });
      expect(put.status).toBe(201);
      const get = await registry.fetch(`/v2/${repo}/manifests/multi`, { token });
      expect(get.headers.get("content-type")).toBe(index.mediaType);
      // The spec lets an index name manifests the registry does not hold (a sparse index, as a
      // partial mirror pushes); only an image manifest's blobs must be there.
      const absent = sha256("a manifest pushed elsewhere");
      const sparse = { ...index, manifests: [{ ...index.manifests[0], digest: absent }] };
      const sparseBody = JSON.stringify(sparse);
      const accepted = await registry.fetch(`/v2/${repo}/manifests/sparse`, {
        method: "PUT",
        token,
        body: sparseBody,
        headers: { "content-type": index.mediaType },
      });
      expect(accepted.status, await accepted.clone().text()).toBe(201);
      const pulled = await registry.fetch(`/v2/${repo}/manifests/sparse`, { token });
      expect(await pulled.text()).toBe(sparseBody);
      // The child that arrives later is pushed by digest as usual.
      expect((await registry.fetch(`/v2/${repo}/manifests/${absent}`, { token })).status).toBe(404);
    });

    it("deletes a tag alone, or a manifest by digest with its tags", async () => {
      const digest = await pushImage(registry, repo, "gone", token);
      expect(
        (await registry.fetch(`/v2/${repo}/manifests/gone`, { method: "DELETE", token })).status,
      ).toBe(202);
      expect((await registry.fetch(`/v2/${repo}/manifests/gone`, { token })).status).toBe(404);
      expect((await registry.fetch(`/v2/${repo}/manifests/${digest}`, { token })).status).toBe(200);
      expect(
        (await registry.fetch(`/v2/${repo}/manifests/${digest}`, { method: "DELETE", token }))
          .status,
      ).toBe(202);
      expect((await registry.fetch(`/v2/${repo}/manifests/${digest}`, { token })).status).toBe(404);
    });
  });

  describe("end-8 tags list, catalog, end-12 referrers, names", () => {
    it("pages tags with n and last and a Link header", async () => {
      const paged = registry.token({ paged: ["pull", "push"] });
      const image = randomImage();
      const digest = await pushImage(registry, "paged", "t0", paged, image);
      for (const tag of ["t1", "t2", "t3"]) {
        const put = await registry.fetch(`/v2/paged/manifests/${digest}?tag=${tag}`, {
          method: "PUT",
          token: paged,
          body: image.bytes,
          headers: { "content-type": image.manifest.mediaType },
        });
        expect(put.status).toBe(201);
      }
      const first = await registry.fetch("/v2/paged/tags/list?n=2", { token: paged });
      expect(await first.json()).toEqual({ name: "paged", tags: ["t0", "t1"] });
      expect(first.headers.get("link")).toBe('</v2/paged/tags/list?n=2&last=t1>; rel="next"');
      const second = await registry.fetch("/v2/paged/tags/list?n=2&last=t1", { token: paged });
      expect(await second.json()).toEqual({ name: "paged", tags: ["t2", "t3"] });
      expect(second.headers.get("link")).toBeNull();
      const unknown = await registry.fetch("/v2/nothing/tags/list", {
        token: registry.token({ nothing: ["pull"] }),
      });
      expect(await errorCode(unknown)).toBe("NAME_UNKNOWN");
    });

    it("lists the catalog only with a catalog grant", async () => {
      expect((await registry.fetch("/v2/_catalog", { token })).status).toBe(403);
      const catalog = registry.token({}, [{ type: "registry", name: "catalog", actions: ["*"] }]);
      const response = await registry.fetch("/v2/_catalog?n=100", { token: catalog });
      const body = (await response.json()) as { repositories: string[] };
      expect(body.repositories).toContain("team/app");
    });

    it("lists referrers of a subject, filters by artifactType, answers OCI-Subject", async () => {
      const subject = await pushImage(registry, repo, "signed", token);
      const emptyConfig = Buffer.from("{}");
      const configDigest = await pushBlob(registry, repo, emptyConfig, token);
      const signature = Buffer.from("signature");
      const layer = await pushBlob(registry, repo, signature, token);
      const artifact = {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        artifactType: "application/vnd.example.signature",
        config: { mediaType: "application/vnd.oci.empty.v1+json", digest: configDigest, size: 2 },
        layers: [{ mediaType: "application/octet-stream", digest: layer, size: signature.length }],
        subject: {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: subject,
          size: 100,
        },
        annotations: { "org.example.by": "test" },
      };
      const body = JSON.stringify(artifact);
      const put = await registry.fetch(`/v2/${repo}/manifests/${sha256(body)}`, {
        method: "PUT",
        token,
        body,
        headers: { "content-type": artifact.mediaType },
      });
      expect(put.status).toBe(201);
      expect(put.headers.get("oci-subject")).toBe(subject);
      const referrers = await registry.fetch(`/v2/${repo}/referrers/${subject}`, { token });
      expect(referrers.headers.get("content-type")).toBe("application/vnd.oci.image.index.v1+json");
      const index = (await referrers.json()) as {
        manifests: { digest: string; artifactType: string; annotations: object }[];
      };
      expect(index.manifests).toEqual([
        expect.objectContaining({
          digest: sha256(body),
          artifactType: artifact.artifactType,
          annotations: artifact.annotations,
        }),
      ]);
      const filtered = await registry.fetch(
        `/v2/${repo}/referrers/${subject}?artifactType=application/other`,
        { token },
      );
      expect(filtered.headers.get("oci-filters-applied")).toBe("artifactType");
      expect(((await filtered.json()) as { manifests: unknown[] }).manifests).toEqual([]);
    });

    it("refuses invalid repository names with NAME_INVALID", async () => {
      for (const name of ["UPPER/case", "a//b", "-lead", "trailing-"]) {
        const response = await registry.fetch(`/v2/${name}/tags/list`, { token });
        expect(response.status, name).toBe(400);
        expect(await errorCode(response), name).toBe("NAME_INVALID");
      }
    });
  });
});
