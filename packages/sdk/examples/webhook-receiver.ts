import http from 'node:http'
import { verifyWebhook, WebhookVerificationError } from '@worken/sdk/webhooks'

// The endpoint's secret, as POST /webhook-endpoints returned it (whsec_… when the server generated it).
const secret = process.env.WORKEN_WEBHOOK_SECRET ?? ''

const server = http.createServer(async (request, response) => {
  // Verify the raw body exactly as it arrived: parsed and re-serialized JSON would not match.
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  try {
    const event = await verifyWebhook(Buffer.concat(chunks), request.headers, secret)
    // Delivery is at-least-once: remember event.id and skip the ids already handled.
    console.log(`received ${event.type} ${event.id}`)
    response.writeHead(200).end()
  } catch (error) {
    response.writeHead(error instanceof WebhookVerificationError ? 400 : 500).end()
  }
})

// Behind your HTTPS reverse proxy.
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => console.log('listening'))
