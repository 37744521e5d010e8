// Signs a body as GitHub does, with GitHub's own package (@octokit/webhooks-methods), and
// checks it with the same package's verify: prints {"signature", "verified"}.
import { sign, verify } from "@octokit/webhooks-methods";

const [secret, payload] = process.argv.slice(2);
const signature = await sign(secret, payload);
console.log(JSON.stringify({ signature, verified: await verify(secret, payload, signature) }));
