#!/usr/bin/python3
"""Redis ACL users (Redis 6+): the daemon authenticates as USER:PASSWORD@ of
the url (or [redis] user) with AUTH USER PASSWORD, and works with a user that
may touch only its own key prefix; a wrong password is refused and logged.
rediss:// (TLS) is refused at config check: Debian 12's hiredis 0.14 has no
TLS, and the daemon says so instead of connecting in the clear."""

import apd
from apd import h, vk_appeal_id, vk_comment


class AclUser:
    """A Redis user limited to keys under prefix, deleted on exit."""

    def __init__(self, svc, user, password, prefix):
        self.svc, self.user = svc, user
        with svc.redis() as r:
            r.cmd("ACL", "SETUSER", user, "reset", "on", ">" + password, "~" + prefix + "*",
                  "+@all", "-@dangerous", "+info")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        with self.svc.redis() as r:
            r.cmd("ACL", "DELUSER", self.user)


def url_with(svc, userinfo):
    return "redis://%s@%s:%d/%d" % (userinfo, svc.redis_host, svc.redis_port, svc.redis_db)


def test_acl_user_in_the_url_stores_appeals():
    with h.Services() as svc:
        u = h.unique("acl")
        over = {"redis.url": url_with(svc, "%s:acl-user-password-0123456789" % u),
                "redis.prefix": u + ":"}
        with AclUser(svc, u, "acl-user-password-0123456789", u + ":"), \
                apd.Apd(svc, overrides=over, u=u) as a:
            st, _, _ = a.post("/webhook/vk", vk_comment(100001, 7, "Яма на дороге, улица Мира 3"))
            assert st == 200
            key = a.rkey("a:{%s}" % vk_appeal_id(100001, 7))

            def stored():
                with svc.redis() as r:   # the tests' client has no ACL user
                    return r.hgetall(key).get("state") == "open"
            h.wait_until(stored, timeout=20, what="the appeal stored by the ACL user")
            a.wait_idle()
            assert a.ctl("status")["result"]["redis"]["connected"]


def test_acl_user_setting_and_a_wrong_password():
    with h.Services() as svc:
        u = h.unique("acl")
        over = {"redis.url": url_with(svc, ":not-the-password-0123456789"), "redis.user": u,
                "redis.prefix": u + ":"}
        with AclUser(svc, u, "acl-user-password-0123456789", u + ":"):
            a = apd.Apd(svc, overrides=over, u=u, start=False, check_contract=False)
            a.daemon.start()
            a.daemon.wait_ready()
            h.wait_until(lambda: "AUTH/SELECT refused" in a.daemon.log(), timeout=20,
                         what="the refused AUTH in the log")
            assert "WRONGPASS" in a.daemon.log()
            assert not a.ctl("status")["result"]["redis"]["connected"]
            a.daemon.close()


def test_rediss_url_is_refused_with_the_reason():
    with h.Services() as svc:
        a = apd.Apd(svc, overrides={"redis.url": "rediss://127.0.0.1:6380/0"}, start=False,
                    create_topics=False, check_contract=False)
        p = a.run_tool("--check-config", check=False)
        err = p.stderr.decode() + p.stdout.decode()
        assert p.returncode != 0, err
        assert "TLS (rediss://) is not available" in err and "hiredis 0.14" in err, err


if __name__ == "__main__":
    h.main(globals())
