import uuid

from worken import WorkenClient

# Reads WORKEN_API_KEY and WORKEN_BASE_URL (default http://127.0.0.1:8080).
with WorkenClient() as client:
    bot = client.bots.create(name="Quickstart bot")
    # local/echo is built into the server: it answers without any LLM account.
    client.bots.settings.update(bot["id"], ai={"model": {"id": "local/echo"}})
    chat = client.chats.create(bot_id=bot["id"], name="Quickstart chat")
    thread_id = f"quickstart-{uuid.uuid4().hex[:8]}"  # you choose thread ids; a new one starts a thread

    with client.chats.threads.stream(
        chat["id"], thread_id, messages=[{"role": "user", "content": "Hello, Worken!"}]
    ) as stream:
        for event in stream:  # each event as the server sends it
            if event["type"] == "text-delta":
                print(event["textDelta"], end="", flush=True)
    print()

    for message in client.chats.threads.messages.list(chat["id"], thread_id):
        print(f"{message['role']}: {message['content']}")
