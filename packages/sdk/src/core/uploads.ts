import { WorkenError } from './errors.ts'

/** What an upload accepts: a `File` (its name is used), a `Blob`, or bytes. */
export type Uploadable = Blob | ArrayBuffer | ArrayBufferView

/** A file part's content and name. */
export function filePart(file: unknown, filename: string | undefined, field: string): { blob: Blob; filename: string } {
  let blob: Blob
  if (file instanceof Blob) blob = file
  else if (file instanceof ArrayBuffer || ArrayBuffer.isView(file)) blob = new Blob([file as ArrayBuffer])
  else throw new WorkenError(`${field} must be a File, a Blob, a Uint8Array or an ArrayBuffer, got ${file === null ? 'null' : typeof file}`)
  const name = filename ?? (typeof File !== 'undefined' && blob instanceof File && blob.name ? blob.name : undefined)
  if (!name) throw new WorkenError(`${field} needs a filename: pass a File, or a filename next to it`)
  return { blob, filename: name }
}

/**
 * A multipart body from a plain object: binary values (File, Blob, bytes) become
 * file parts named by `filename` (or the File's own name), objects become JSON
 * text fields, the rest strings.
 */
export function toFormData(fields: Record<string, unknown>): FormData {
  const { filename, ...rest } = fields
  if (filename !== undefined && typeof filename !== 'string') throw new WorkenError('filename must be a string')
  const form = new FormData()
  for (const [name, value] of Object.entries(rest)) {
    if (value === undefined || value === null) continue
    if (value instanceof Blob || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
      const part = filePart(value, filename, name)
      form.append(name, part.blob, part.filename)
    } else {
      form.append(name, typeof value === 'object' ? JSON.stringify(value) : String(value))
    }
  }
  return form
}
