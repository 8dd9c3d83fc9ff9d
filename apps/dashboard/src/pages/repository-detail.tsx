import type { Repository } from "@skiff/shared";
import { type FormEvent, useState } from "react";
import { ConfirmButton } from "../components/confirm-button.js";
import { CopyBlock } from "../components/copy-block.js";
import { DataTable } from "../components/data-table.js";
import { PageHeader } from "../components/layout.js";
import { ErrorMessage, Loaded } from "../components/states.js";
import { formatAgo, formatBytes } from "../lib/format.js";
import { useAction } from "../lib/use-action.js";
import { usePoll } from "../lib/use-poll.js";

/** One repository: tags with size and digest, delete a tag, settings and lifecycle rules. */
export function RepositoryDetail({ name }: { name: string }) {
  const repository = usePoll(`repository:${name}`, (client) => client.getRepository(name), 10_000);
  const tags = usePoll(`tags:${name}`, (client) => client.listImageTags(name), 5000);
  const info = usePoll("registry", (client) => client.registryInfo());
  const deleteTag = useAction(
    (client, tag: string) => client.deleteImageTag(name, tag),
    tags.reload,
  );

  return (
    <>
      <PageHeader title={`Repository ${name}`} />
      <Loaded poll={repository} what="the repository" feature="The built-in registry">
        {(data) => (
          <div className="grid">
            <section className="card">
              <dl className="facts">
                <dt>size</dt>
                <dd>{formatBytes(data.sizeBytes)}</dd>
                <dt>tags</dt>
                <dd>{data.tagCount}</dd>
                <dt>last push</dt>
                <dd>{formatAgo(data.lastPushedAt)}</dd>
              </dl>
              {info.data ? (
                <CopyBlock
                  label="Pull command"
                  text={`docker pull ${info.data.address}/${name}:<tag>`}
                />
              ) : null}
            </section>
            <section className="card">
              <RepositorySettings repository={data} onDone={repository.reload} />
            </section>
          </div>
        )}
      </Loaded>
      <section className="card">
        <h2>Tags</h2>
        <ErrorMessage error={deleteTag.error} />
        <Loaded poll={tags} what="tags" feature="The built-in registry">
          {(items) => (
            <DataTable
              items={items}
              empty="No tags."
              columns={["tag", "digest", "size", "pushed", ""]}
              row={(tag) => (
                <tr key={tag.tag}>
                  <td>{tag.tag}</td>
                  <td className="mono" title={tag.mediaType}>
                    {tag.digest}
                  </td>
                  <td>{formatBytes(tag.sizeBytes)}</td>
                  <td>{formatAgo(tag.pushedAt)}</td>
                  <td className="row-actions">
                    <ConfirmButton
                      label="Delete"
                      question={`Delete tag ${tag.tag}?`}
                      busy={deleteTag.busy}
                      onConfirm={() => deleteTag.run(tag.tag)}
                    />
                  </td>
                </tr>
              )}
            />
          )}
        </Loaded>
      </section>
    </>
  );
}

function RepositorySettings({
  repository,
  onDone,
}: {
  repository: Repository;
  onDone: () => void;
}) {
  const [immutableTags, setImmutableTags] = useState(repository.immutableTags);
  const [anonymousPull, setAnonymousPull] = useState(repository.anonymousPull);
  const [keepLastTags, setKeepLastTags] = useState(
    repository.lifecycle.keepLastTags?.toString() ?? "",
  );
  const [expireDays, setExpireDays] = useState(
    repository.lifecycle.expireUntaggedAfterDays?.toString() ?? "",
  );
  const save = useAction(
    (client) =>
      client.updateRepository(repository.name, {
        immutableTags,
        anonymousPull,
        lifecycle: {
          keepLastTags: keepLastTags.trim() ? Number(keepLastTags) : null,
          expireUntaggedAfterDays: expireDays.trim() ? Number(expireDays) : null,
        },
      }),
    onDone,
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void save.run();
  };
  return (
    <form className="fields" onSubmit={submit}>
      <h2>Settings and lifecycle</h2>
      <label className="check">
        <input
          type="checkbox"
          checked={immutableTags}
          onChange={(e) => setImmutableTags(e.target.checked)}
        />{" "}
        immutable tags (a pushed tag cannot be overwritten)
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={anonymousPull}
          onChange={(e) => setAnonymousPull(e.target.checked)}
        />{" "}
        anonymous pull
      </label>
      <div className="row">
        <label className="field">
          Keep the newest N tags (empty: all)
          <input
            type="number"
            min={1}
            value={keepLastTags}
            onChange={(e) => setKeepLastTags(e.target.value)}
          />
        </label>
        <label className="field">
          Expire untagged after days (empty: never)
          <input
            type="number"
            min={1}
            value={expireDays}
            onChange={(e) => setExpireDays(e.target.value)}
          />
        </label>
      </div>
      <ErrorMessage error={save.error} />
      <button type="submit" disabled={save.busy}>
        Save
      </button>
    </form>
  );
}
