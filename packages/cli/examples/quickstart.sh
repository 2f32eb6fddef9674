# Reads WORKEN_API_KEY and WORKEN_BASE_URL (or the profile `worken login` saved).
set -euo pipefail
BOT_ID=$(worken bots create --set name="Quickstart bot" --field id)
# local/echo is built into the server: it answers without any LLM account.
worken bots settings update "$BOT_ID" --set ai.model.id=local/echo > /dev/null
CHAT_ID=$(worken chats create --set bot_id="$BOT_ID" --set name="Quickstart chat" --field id)
THREAD_ID="quickstart-$RANDOM"   # you choose thread ids; a new one starts a thread

echo "Hello, Worken!" | worken chat "$CHAT_ID" "$THREAD_ID"   # the reply streams as it is generated
worken chats threads messages list "$CHAT_ID" "$THREAD_ID"
