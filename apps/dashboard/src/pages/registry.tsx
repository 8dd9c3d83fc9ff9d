import type { Repository } from "@skiff/shared";
import { useState } from "react";
import { CopyBlock } from "../components/copy-block.js";
import { DataTable } from "../components/data-table.js";
import { PageHeader } from "../components/layout.js";
import { Empty, ErrorMessage, Loaded } from "../components/states.js";
import { useApi } from "../lib/api.js";
import { registryCommands } from "../lib/commands.js";
import { formatAgo, formatBytes } from "../lib/format.js";
import { Link } from "../lib/router.js";
import { usePoll } from "../lib/use-poll.js";

/** The built-in registry: how to log in and push, and its repositories. */
export function Registry() {
  const { client } = useApi();
  const info = usePoll("registry", (c) => c.registryInfo());
  const repositories = usePoll("repositories", (c) => c.listRepositories({ limit: 100 }), 10_000);
  const [more, setMore] = useState<{ items: Repository[]; cursor: string | null } | null>(null);
  const [moreError, setMoreError] = useState<unknown>(undefined);
  const loadMore = async (cursor: string) => {
    try {
      const page = await client.listRepositories({ limit: 100, cursor });
      setMore((previous) => ({
        items: [...(previous?.items ?? []), ...page.repositories],
        cursor: page.nextCursor,
      }));
    } catch (error) {
      setMoreError(error);
    }
  };

  return (
    <>
      <PageHeader title="Registry" />
      <Loaded poll={info} what="the registry" feature="The built-in registry">
        {(data) => (
          <>
            <section className="card">
              <h2>Push an image</h2>
              <p>
                Log in with your Skiff token as the password (user <code>skiff</code>), then tag and
                push:
              </p>
              <CopyBlock label="Registry commands" text={registryCommands(data.address)} />
            </section>
            <section className="card">
              <h2>Repositories</h2>
              <Loaded poll={repositories} what="repositories">
                {(page) => {
                  const items = [...page.repositories, ...(more?.items ?? [])];
                  const cursor = more ? more.cursor : page.nextCursor;
                  return items.length === 0 ? (
                    <Empty>No repositories yet: push an image to create one.</Empty>
                  ) : (
                    <>
                      <DataTable
                        items={items}
                        columns={["repository", "tags", "size", "last push", "settings"]}
                        row={(repository) => (
                          <tr key={repository.name}>
                            <td>
                              <Link to={`/registry/${encodeURIComponent(repository.name)}`}>
                                {repository.name}
                              </Link>
                            </td>
                            <td>{repository.tagCount}</td>
                            <td>{formatBytes(repository.sizeBytes)}</td>
                            <td>{formatAgo(repository.lastPushedAt)}</td>
                            <td className="muted">
                              {[
                                repository.immutableTags ? "immutable tags" : null,
                                repository.anonymousPull ? "anonymous pull" : null,
                              ]
                                .filter(Boolean)
                                .join(", ") || "–"}
                            </td>
                          </tr>
                        )}
                      />
                      {cursor ? (
                        <button
                          type="button"
                          className="secondary"
                          onClick={() => loadMore(cursor)}
                        >
                          Load more
                        </button>
                      ) : null}
                      <ErrorMessage error={moreError} />
                    </>
                  );
                }}
              </Loaded>
            </section>
          </>
        )}
      </Loaded>
    </>
  );
}
