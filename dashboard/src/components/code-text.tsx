/** Text with `backticked` spans (how loopd words commands in checks) shown as code. */
export function CodeText({ text }: { text: string }) {
  const parts = text.split("`");
  // An odd number of backticks leaves an unpaired one: show the text as it is.
  if (parts.length % 2 === 0) return <>{text}</>;
  return (
    <>
      {parts.map((part, index) =>
        // biome-ignore lint/suspicious/noArrayIndexKey: the pieces of one string never reorder
        index % 2 === 1 ? <code key={index}>{part}</code> : <span key={index}>{part}</span>,
      )}
    </>
  );
}
