"""Local stand-ins for the platforms' APIs that pull sources poll (ABI 1.5).

    with FakeAPI() as api:
        post = api.vk_post(100001, "Новость администрации")
        api.vk_comment(100001, post, "Когда уберут снег во дворе на Пушкина, 12?")
        overrides = {"source.vk.api_base": api.url("/vk/method"), ...}

One threaded HTTP server answers like each platform, with the shapes of its
documentation:
  /vk/method/NAME   VK API (VK API schema, VKCOM/vk-api-schema: responses.json,
                    objects.json wall_wall_comment, groups_callback_server;
                    errors {"error": {"error_code", "error_msg"}})
  /ok/fb.do         OK REST API (apiok/documentation, docs/method/ru/discussions:
                    discussions.getDiscussions, discussions.getComments; request
                    signature checked; errors {"error_code", "error_msg", "error_data"})
  /tg/botTOKEN/getUpdates  Telegram Bot API (core.telegram.org/bots/api#getupdates)

Faults are queued per method: api.fail("wall.getComments", vk_error=6) answers
the next call with VK error 6; http=500 with a bare 500; every queued fault
is used once.  api.calls lists (method, params) of every request.
"""

import hashlib
import http.server
import json
import threading
import time
import urllib.parse


class FakeAPI:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []
        self.faults = {}
        self.next_id = 1000
        # VK: owner (group id) -> {"posts": [post], "comments": {post_id: [comment]},
        #                          "cb_status": "ok"}
        self.vk = {}
        # OK: group id -> {"topics": [topic_id], "comments": {topic_id: [comment]}}
        self.ok = {}
        self.ok_app_key = "CBAFAKEAPPKEY"
        self.ok_secret = "9C2B7E41D05A3F86B1E4C7290A5D8F13"
        self.ok_tokens = {}
        # Telegram: token -> [update]
        self.tg = {}
        self.tg_next_update = 500000
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                params = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
                status, body = api.route(u.path, params)
                data = body if isinstance(body, bytes) else json.dumps(
                    body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def url(self, path=""):
        return "http://127.0.0.1:%d%s" % (self.server.server_address[1], path)

    def fail(self, method, **fault):
        """Queue one fault for the next call of method (vk_error=N, ok_error=N,
        http=STATUS; none=True answers normally: faults and answers alternate)."""
        with self.lock:
            self.faults.setdefault(method, []).append(fault)

    def count(self, method):
        with self.lock:
            return sum(1 for m, _ in self.calls if m == method)

    def _id(self):
        self.next_id += 1
        return self.next_id

    # ---- routing ----

    def route(self, path, params):
        if path.startswith("/vk/method/"):
            method = path[len("/vk/method/"):]
        elif path == "/ok/fb.do":
            method = params.get("method", "")
        elif path.startswith("/tg/bot") and path.endswith("/getUpdates"):
            method = "getUpdates"
            params = dict(params, token=path[len("/tg/bot"):-len("/getUpdates")])
        else:
            return 404, {"error": "no such path"}
        with self.lock:
            self.calls.append((method, params))
            queued = self.faults.get(method)
            fault = queued.pop(0) if queued else None
            if fault and not fault.get("none"):
                return self._fault(fault)
            if path.startswith("/vk/"):
                return 200, self._vk(method, params)
            if path.startswith("/ok/"):
                return 200, self._ok(method, params)
            return self._tg(params)

    @staticmethod
    def _fault(f):
        if "http" in f:
            return f["http"], b"upstream trouble"
        if "vk_error" in f:
            msg = {6: "Too many requests per second", 10: "Internal server error",
                   5: "User authorization failed: invalid access_token (4)."}
            return 200, {"error": {"error_code": f["vk_error"],
                                   "error_msg": msg.get(f["vk_error"], "Unknown error"),
                                   "request_params": []}}
        if "ok_error" in f:
            msg = {1: "UNKNOWN", 2: "SERVICE", 102: "PARAM_SESSION_EXPIRED",
                   104: "PARAM_SIGNATURE"}
            return 200, {"error_code": f["ok_error"], "error_msg": msg.get(f["ok_error"], "?"),
                         "error_data": None}
        raise AssertionError(f)

    # ---- VK ----

    def vk_group(self, gid):
        return self.vk.setdefault(gid, {"posts": [], "comments": {}, "cb_status": "ok"})

    def vk_post(self, gid, text):
        with self.lock:
            pid = self._id()
            self.vk_group(gid)["posts"].append({
                "id": pid, "owner_id": -gid, "from_id": -gid, "date": int(time.time()) - 60,
                "post_type": "post", "text": text})
            return pid

    def vk_comment(self, gid, post_id, text, from_id=7001, reply_to=None, date=None):
        """A comment under post_id; reply_to: the comment it answers (a thread)."""
        with self.lock:
            cid = self._id()
            c = {"id": cid, "from_id": from_id, "post_id": post_id, "owner_id": -gid,
                 "parents_stack": [reply_to] if reply_to else [],
                 "date": date or int(time.time()), "text": text}
            if reply_to:
                c["reply_to_comment"] = reply_to
            self.vk_group(gid)["comments"].setdefault(post_id, []).append(c)
            return cid

    def _vk(self, method, p):
        gid = abs(int(p.get("owner_id") or p.get("group_id") or 0))
        g = self.vk_group(gid)
        if not p.get("access_token"):
            return {"error": {"error_code": 5, "error_msg": "User authorization failed: no "
                              "access_token passed.", "request_params": []}}
        if method == "groups.getCallbackServers":
            return {"response": {"count": 1, "items": [{
                "id": 1, "title": "appealsd", "creator_id": 7000, "secret_key": "s",
                "url": "https://appeals.example.ru/webhook/vk", "status": g["cb_status"]}]}}
        if method == "wall.get":
            posts = sorted(g["posts"], key=lambda x: -x["id"])[:int(p.get("count", 20))]
            return {"response": {"count": len(g["posts"]), "items": [
                dict(x, comments={"count": len(g["comments"].get(x["id"], [])),
                                  "can_post": 1}) for x in posts]}}
        if method == "wall.getComments":
            return {"response": self._vk_comments(g, p)}
        return {"error": {"error_code": 3, "error_msg": "Unknown method passed.",
                          "request_params": []}}

    @staticmethod
    def _vk_comments(g, p):
        every = g["comments"].get(int(p["post_id"]), [])
        top = [c for c in every if not c["parents_stack"]]
        top.sort(key=lambda c: -c["id"] if p.get("sort") == "desc" else c["id"])
        off, count = int(p.get("offset", 0)), int(p.get("count", 10))
        n_thread = int(p.get("thread_items_count", 0))
        items = []
        for c in top[off:off + count]:
            replies = [r for r in every if r["parents_stack"][:1] == [c["id"]]]
            items.append(dict(c, thread={"count": len(replies), "items": replies[:n_thread],
                                         "can_post": True}))
        return {"count": len(every), "current_level_count": len(top), "can_post": True,
                "items": items}

    # ---- OK ----

    def ok_topic(self, gid):
        with self.lock:
            tid = str(self._id() * 1000 + 7)
            self.ok.setdefault(gid, {"topics": [], "comments": {}})["topics"].append(tid)
            return tid

    def ok_comment(self, gid, topic, text, author="575662066926", name="Ирина Ковалёва",
                   reply_to=None, own=False):
        with self.lock:
            cid = "MTcwMDAwMDAw" + str(self._id())
            c = {"id": cid, "author_id": gid if own else author,
                 "author_type": "GROUP" if own else "USER",
                 "author_name": "Администрация" if own else name,
                 "date": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), "text": text}
            if reply_to:
                c["reply_to_comment_id"] = reply_to
            self.ok[gid]["comments"].setdefault(topic, []).append(c)
            return cid

    def ok_edit(self, gid, topic, cid, text):
        with self.lock:
            for c in self.ok[gid]["comments"][topic]:
                if c["id"] == cid:
                    c["text"] = text

    def ok_delete(self, gid, topic, cid):
        with self.lock:
            cs = self.ok[gid]["comments"][topic]
            cs[:] = [c for c in cs if c["id"] != cid]

    def ok_sig_valid(self, p):
        """OK's signature: md5(sorted k=v without access_token and sig, then
        md5(access_token + application_secret_key)), lowercase hex."""
        token = p.get("access_token", "")
        secret = hashlib.md5((token + self.ok_secret).encode()).hexdigest()
        base = "".join("%s=%s" % (k, v) for k, v in sorted(p.items())
                       if k not in ("access_token", "sig"))
        return hashlib.md5((base + secret).encode()).hexdigest() == p.get("sig", "").lower()

    def _ok(self, method, p):
        if p.get("application_key") != self.ok_app_key or not self.ok_sig_valid(p):
            return {"error_code": 104, "error_msg": "PARAM_SIGNATURE : Invalid signature",
                    "error_data": None}
        gid = p.get("gid", "")
        g = self.ok.get(gid, {"topics": [], "comments": {}})
        if method == "discussions.getDiscussions":
            return {"discussions": [
                {"object_type": "GROUP_TOPIC", "object_id": t, "owner_uid": gid,
                 "total_comments_count": len(g["comments"].get(t, []))}
                for t in reversed(g["topics"])][:int(p.get("count", 20))], "has_more": False}
        if method == "discussions.getComments":
            cs = g["comments"].get(p.get("discussionId"), [])
            count = int(p.get("count", 100))
            start = int(p["anchor"]) if p.get("anchor", "").isdigit() else 0
            page = cs[start:start + count]
            return {"comments": page, "anchor": str(start + len(page)),
                    "has_more": start + len(page) < len(cs),
                    "discussionId": p.get("discussionId"), "discussionType": "GROUP_TOPIC"}
        return {"error_code": 3, "error_msg": "METHOD : Method not found", "error_data": None}

    # ---- Telegram ----

    def tg_update(self, token, kind, message):
        with self.lock:
            self.tg_next_update += 1
            self.tg.setdefault(token, []).append({"update_id": self.tg_next_update,
                                                  kind: message})
            return self.tg_next_update

    def _tg(self, p):
        ups = self.tg.get(p["token"])
        if ups is None:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        offset = int(p.get("offset", 0) or 0)
        if offset:
            ups[:] = [u for u in ups if u["update_id"] >= offset]   # confirmed: forgotten
        return 200, {"ok": True, "result": ups[:int(p.get("limit", 100))]}
