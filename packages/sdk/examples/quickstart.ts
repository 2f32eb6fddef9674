import { NotFoundError, WorkenClient } from '@worken/sdk'

// The key of a project; the server's address comes from WORKEN_BASE_URL (default http://127.0.0.1:8080).
const client = new WorkenClient({ apiKey: process.env.WORKEN_API_KEY })

// A bot that answers with the built-in echo model, and an API chat to talk to it.
const bot = await client.bots.create({ name: 'Quickstart bot' })
await client.bots.settings.update(bot.id, { ai: { model: { id: 'local/echo' } } })
const chat = await client.chats.create({ bot_id: bot.id, name: 'Website' })

// Every bot of the project; further pages are fetched as the loop needs them.
for await (const { id, name } of client.bots.list()) console.log(`bot ${id}: ${name}`)

// The project's live events, gathered in the background until the bot's reply is stored
// (and printed after the reply, so they do not cut into its text).
const feed = client.threads.events()
const seen: string[] = []
const watching = (async () => {
  for await (const event of feed) {
    seen.push(`event ${event.type} in ${event.thread_id}`)
    if (event.type === 'message_created' && event.message?.role === 'assistant') break
  }
})()
await feed.opened

// A user message, and the reply streamed as it is written.
const stream = await client.chats.threads.stream(chat.id, 'quickstart-1', {
  messages: [{ role: 'user', content: 'Hello, Worken!' }],
})
for await (const event of stream) {
  if (event.type === 'text-delta') process.stdout.write(event.textDelta)
}
process.stdout.write('\n')
await watching
for (const line of seen) console.log(line)

// Failures are typed errors carrying the server's code and request id.
try {
  await client.bots.retrieve('bot_does_not_exist')
} catch (error) {
  if (!(error instanceof NotFoundError)) throw error
  console.log(`${error.status} ${error.code}, request ${error.requestId}`)
}
