/** Server-Sent Events of a response body: `event` (default "message") and joined `data` lines. */
export async function* sseMessages(response: {
  body: AsyncIterable<Uint8Array> | null;
}): AsyncGenerator<{ event: string; data: string }> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "message";
  let data: string[] = [];
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline = buffer.search(/\r?\n/);
    while (newline >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(buffer[newline] === "\r" ? newline + 2 : newline + 1);
      if (line === "") {
        if (data.length > 0) yield { event, data: data.join("\n") };
        event = "message";
        data = [];
      } else if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      newline = buffer.search(/\r?\n/);
    }
  }
}
