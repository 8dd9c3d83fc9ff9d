// A Docker token server for the reference registry, so the bench can also run it with token
// auth, as Skiff's registry always runs: the same 401, token request and bearer on both.
//
//   node bench/reference-token-server.mjs <port> <work-dir> <password>
//
// Writes <work-dir>/token-key.pem and <work-dir>/token-cert.pem (a self-signed P-256 pair; the
// registry's `auth.token.rootcertbundle` is the cert), prints "ready" once it listens, and
// answers GET /token as the token spec says: HTTP Basic with any user and <password> gets every
// scope asked for, signed ES256 with the libtrust key id the registry matches the cert by.
import { execFileSync } from "node:child_process";
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  randomUUID,
  sign,
  timingSafeEqual,
} from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";

const [port, work, password] = process.argv.slice(2);
const keyPath = join(work, "token-key.pem");
const certPath = join(work, "token-cert.pem");
execFileSync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keyPath]);
execFileSync("openssl", [
  "req",
  "-new",
  "-x509",
  "-key",
  keyPath,
  "-out",
  certPath,
  "-days",
  "1",
  "-subj",
  "/CN=bench-token",
]);
const key = createPrivateKey(readFileSync(keyPath));

/** libtrust's key id: the first 240 bits of the SHA-256 of the DER public key, base32, in 4s. */
function libtrustKeyId(publicKeyDer) {
  const bits = createHash("sha256").update(publicKeyDer).digest().subarray(0, 30);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let text = "";
  let buffer = 0;
  let count = 0;
  for (const byte of bits) {
    buffer = (buffer << 8) | byte;
    count += 8;
    while (count >= 5) {
      text += alphabet[(buffer >> (count - 5)) & 31];
      count -= 5;
    }
  }
  return text.match(/.{4}/g).join(":");
}
const kid = libtrustKeyId(createPublicKey(key).export({ type: "spki", format: "der" }));
const base64url = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
const expected = Buffer.from(password);

function accessOf(scopes) {
  return scopes.map((scope) => {
    const [type, ...rest] = scope.split(":");
    const actions = rest.pop().split(",");
    return { type, name: rest.join(":"), actions };
  });
}

createServer((request, response) => {
  const url = new URL(request.url, "http://token");
  const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? "")?.[1];
  const credentials = Buffer.from(basic ?? "", "base64").toString();
  // Any user name; the password is what follows the first colon.
  const given = Buffer.from(credentials.slice(credentials.indexOf(":") + 1));
  if (
    url.pathname !== "/token" ||
    given.length !== expected.length ||
    !timingSafeEqual(given, expected)
  ) {
    response.writeHead(401, { "WWW-Authenticate": 'Basic realm="bench"' }).end();
    return;
  }
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: "bench-token",
    sub: "bench",
    aud: url.searchParams.get("service"),
    iat: now,
    nbf: now,
    exp: now + 900,
    jti: randomUUID(),
    access: accessOf(url.searchParams.getAll("scope")),
  };
  const signed = `${base64url({ alg: "ES256", typ: "JWT", kid })}.${base64url(claims)}`;
  const signature = sign("sha256", Buffer.from(signed), { key, dsaEncoding: "ieee-p1363" });
  const token = `${signed}.${signature.toString("base64url")}`;
  response.writeHead(200, { "Content-Type": "application/json" });
  response.end(
    JSON.stringify({
      token,
      access_token: token,
      expires_in: 900,
      issued_at: new Date().toISOString(),
    }),
  );
}).listen(Number(port), "127.0.0.1", () => console.log("ready"));
