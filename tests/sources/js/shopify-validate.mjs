// Validates a webhook request with Shopify's own package (@shopify/shopify-api), as a Shopify app
// would: the request (JSON on stdin: secret, body, headers) is sent to a local server whose
// handler calls shopify.webhooks.validate. Prints the package's verdict.
import "@shopify/shopify-api/adapters/node";
import http from "node:http";
import { ApiVersion, shopifyApi } from "@shopify/shopify-api";

const input = JSON.parse(await new Promise((resolve) => {
  let data = "";
  process.stdin.on("data", (chunk) => (data += chunk));
  process.stdin.on("end", () => resolve(data));
}));
const shopify = shopifyApi({
  apiKey: "formbridge-test", apiSecretKey: input.secret, scopes: [], hostName: "localhost",
  apiVersion: ApiVersion.October25 ?? Object.values(ApiVersion).at(-2), isEmbeddedApp: false,
  logger: { level: 0 },
});
const server = http.createServer(async (req, res) => {
  let rawBody = "";
  req.on("data", (chunk) => (rawBody += chunk));
  req.on("end", async () => {
    const verdict = await shopify.webhooks.validate({ rawBody, rawRequest: req, rawResponse: res });
    res.end("ok");
    console.log(JSON.stringify(verdict));
    server.close();
  });
});
server.listen(0, "127.0.0.1", async () => {
  const { port } = server.address();
  await fetch(`http://127.0.0.1:${port}/`, { method: "POST", headers: input.headers, body: input.body });
});
