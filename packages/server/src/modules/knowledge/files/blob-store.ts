import { eq } from 'drizzle-orm'
import type { Database } from '../../../platform/db/client.ts'
import { fileBlobs } from '../tables.ts'

/**
 * Where file bytes live. The files API writes the file's row and its bytes
 * through the same transaction handle, so a file is never listed without its
 * content. Another store (a directory, S3) implements the same three calls.
 */
export interface BlobStore {
  put(tx: Database, fileId: string, bytes: Uint8Array): Promise<void>
  get(fileId: string): Promise<Uint8Array | null>
  /** Called inside the transaction that deletes the file's row. */
  remove(tx: Database, fileId: string): Promise<void>
}

/**
 * The default: a `bytea` row per file in Postgres, so backups, tenancy and
 * deletion are the database's, and N server processes need no shared disk.
 * Fine at the default 50 MiB per file; a deployment storing much more can put
 * a directory or object store behind this interface.
 */
export class PostgresBlobStore implements BlobStore {
  private readonly db: Database

  constructor(db: Database) {
    this.db = db
  }

  async put(tx: Database, fileId: string, bytes: Uint8Array): Promise<void> {
    await tx.insert(fileBlobs).values({ fileId, content: bytes })
  }

  async get(fileId: string): Promise<Uint8Array | null> {
    const [row] = await this.db.select({ content: fileBlobs.content }).from(fileBlobs).where(eq(fileBlobs.fileId, fileId))
    return row ? new Uint8Array(row.content) : null
  }

  async remove(_tx: Database, _fileId: string): Promise<void> {
    // Nothing to do: the blob row's foreign key cascades from the file row deleted in the same transaction.
  }
}
