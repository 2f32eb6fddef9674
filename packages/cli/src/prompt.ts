import { CliError, EXIT } from './exit-codes.ts'

/**
 * Reads a secret: from a terminal without echoing it (raw mode, as `sudo`
 * does), or, when stdin is a pipe, the first line of stdin, so that
 * `echo "$KEY" | worken login` and CI work.
 */
export async function readSecret(question: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  if (!input.isTTY) return firstLine(input)
  output.write(question)
  input.setRawMode(true)
  input.resume()
  try {
    return await new Promise<string>((resolve, reject) => {
      let secret = ''
      const onData = (chunk: Buffer) => {
        for (const char of chunk.toString('utf8')) {
          if (char === '\r' || char === '\n' || char === '\u0004') {
            input.off('data', onData)
            output.write('\n')
            return resolve(secret)
          }
          if (char === '\u0003') {
            input.off('data', onData)
            output.write('\n')
            return reject(new CliError('Interrupted', EXIT.interrupted))
          }
          if (char === '\u007f' || char === '\b') secret = secret.slice(0, -1)
          else if (char >= ' ') secret += char
        }
      }
      input.on('data', onData)
    })
  } finally {
    input.setRawMode(false)
    input.pause()
  }
}

async function firstLine(input: NodeJS.ReadableStream): Promise<string> {
  let text = ''
  for await (const chunk of input) {
    text += chunk.toString()
    if (text.includes('\n')) break
  }
  return text.split(/\r?\n/)[0]!.trim()
}
