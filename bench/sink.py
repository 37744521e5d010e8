"""A fast local HTTP sink for the delivery benchmark: answers 200 to every POST, counts them."""

import sys

from aiohttp import web

count = 0


async def receive(request: web.Request) -> web.Response:
    global count
    await request.read()
    count += 1
    return web.Response(text='{"ok":true}', content_type="application/json")


async def stats(request: web.Request) -> web.Response:
    return web.json_response({"received": count})


app = web.Application()
app.add_routes([web.post("/{tail:.*}", receive), web.get("/stats", stats)])

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
