// The test suite's driver for typage (npm age-encryption), an age implementation we did not write.
//   node typage.mjs keygen x25519|hybrid      prints the identity, then its recipient
//   node typage.mjs encrypt RECIPIENT...      stdin to stdout
//   TYPAGE_IDENTITY=AGE-SECRET-KEY-... node typage.mjs decrypt    stdin to stdout
//   TYPAGE_IDENTITY=AGE-SECRET-KEY-... node typage.mjs recipient  prints the identity's recipient
// A failure prints one line on stderr and exits 1.
import { Decrypter, Encrypter, generateHybridIdentity, generateX25519Identity, identityToRecipient } from "age-encryption";

async function readStdin() {
  const parts = [];
  for await (const part of process.stdin) parts.push(part);
  return new Uint8Array(Buffer.concat(parts));
}

async function main([command, ...args]) {
  if (command === "keygen") {
    const identity = args[0] === "hybrid" ? await generateHybridIdentity() : await generateX25519Identity();
    process.stdout.write(`${identity}\n${await identityToRecipient(identity)}\n`);
  } else if (command === "encrypt") {
    const encrypter = new Encrypter();
    for (const recipient of args) encrypter.addRecipient(recipient);
    process.stdout.write(await encrypter.encrypt(await readStdin()));
  } else if (command === "decrypt") {
    const decrypter = new Decrypter();
    decrypter.addIdentity(process.env.TYPAGE_IDENTITY);
    process.stdout.write(await decrypter.decrypt(await readStdin()));
  } else if (command === "recipient") {
    process.stdout.write(`${await identityToRecipient(process.env.TYPAGE_IDENTITY)}\n`);
  } else {
    throw new Error(`unknown command ${command}`);
  }
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`typage: ${error.message}\n`);
  process.exitCode = 1;
});
