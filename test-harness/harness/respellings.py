"""Single-edit respellings of a signed request's target: what an attacker holding one signed
request would try to make it act on another object. A respelling the proxy forwards must act
on the object that was signed, nothing else; most must be refused."""

import random
import re

# Keys that one decoding, encoding or normalisation turns into another: populated together, so
# that a respelling read as a sibling is seen reading the sibling.
FAMILIES = [
    ["a b", "a+b", "a%20b", "a%2Bb"],
    ["a~b", "a%7Eb"],
    ["dir/x", "dir%2Fx"],
    ["A", "%41"],
    ["é", "e\u0301"],
    ["a%b", "a%25b", "a%2"],
    ["a;b", "a?b", "a#b", "a=b&c=d"],
]
# Where keys are not files (see `random_requests.Origin.keys_as_files`): dot segments, empty
# segments and a trailing `/`, each beside what a normalising server would read it as.
DOT_FAMILIES = [["a/b", "a//b", "a/./b", "a/../b", "b", "a/b/"]]


def respellings(target: str, rng: random.Random) -> list[tuple[str, str]]:
    """(what changed, the target) for each single edit of the path or the query."""
    path, _, query = target.partition("?")
    key_start = path.index("/", 1) + 1 if path.count("/") >= 2 else len(path)
    out = []
    for m in re.finditer(r"%([0-9A-Fa-f]{2})", path):
        ch, (s, e) = chr(int(m.group(1), 16)), m.span()
        if 0x20 < ord(ch) < 0x7F and ch not in "?#":
            out.append((f"path {m.group(0)} decoded", path[:s] + ch + path[e:]))
        if m.group(0) != m.group(0).lower():
            out.append((f"path {m.group(0)} lower-cased", path[:s] + m.group(0).lower() + path[e:]))
        out.append((f"path {m.group(0)} encoded again", path[:s] + "%25" + m.group(1) + path[e:]))
        if m.group(0) == "%20":
            out.append(("path %20 as +", path[:s] + "+" + path[e:]))
    for i, ch in enumerate(path[key_start:], key_start):
        if ch.isalnum() or ch in "-._~+=!$&'()*,;:@":
            out.append((f"path {ch} encoded", path[:i] + "%%%02X" % ord(ch) + path[i + 1:]))
        if ch == "/":
            out.append(("path / as %2F", path[:i] + "%2F" + path[i + 1:]))
            out.append(("path / doubled", path[:i] + "//" + path[i + 1:]))
        if ch == "+":
            out.append(("path + as %20", path[:i] + "%20" + path[i + 1:]))
    out.append(("path with a trailing /", path + "/"))
    out.append(("path with ./", path[:key_start] + "./" + path[key_start:]))
    out.append(("path with x/../", path[:key_start] + "x/../" + path[key_start:]))
    out = [(what, p + ("?" + query if query else "")) for what, p in out]
    if query:
        out += _query_respellings(path, query, rng)
    return out


def _query_respellings(path: str, query: str, rng: random.Random) -> list[tuple[str, str]]:
    params = query.split("&")

    def with_param(j: int, new: str) -> str:
        return path + "?" + "&".join(params[:j] + [new] + params[j + 1:])

    out = []
    for j, p in enumerate(params):
        name, eq, val = p.partition("=")
        for m in re.finditer(r"%([0-9A-Fa-f]{2})", p):
            ch, (s, e) = chr(int(m.group(1), 16)), m.span()
            if m.group(0) != m.group(0).lower():
                out.append((f"query {m.group(0)} lower-cased", with_param(j, p[:s] + m.group(0).lower() + p[e:])))
            if 0x20 < ord(ch) < 0x7F and ch not in "&#=+":
                out.append((f"query {m.group(0)} decoded", with_param(j, p[:s] + ch + p[e:])))
        letters = [i for i, ch in enumerate(p) if ch.isalpha()]
        if letters:
            i = rng.choice(letters)
            out.append((f"query {p[i]} encoded", with_param(j, p[:i] + "%%%02X" % ord(p[i]) + p[i + 1:])))
        out.append((f"query {name} lower-cased", with_param(j, name.lower() + eq + val)))
        if "%20" in val:
            out.append(("query %20 as +", with_param(j, name + eq + val.replace("%20", "+"))))
    shuffled = params[:]
    rng.shuffle(shuffled)
    out += [
        ("query reordered", path + "?" + "&".join(shuffled)),
        ("query with a trailing &", path + "?" + query + "&"),
        ("query with a leading &", path + "?&" + query),
        ("query with && between", path + "?" + "&&".join(params)),
        ("query with ;", path + "?" + params[0] + ";x=1&" + "&".join(params[1:])),
        ("query after ??", path + "??" + query),
        ("query with a bare name", path + "?" + query + "&x-id"),
        ("query with an empty name", path + "?" + query + "&=v"),
    ]
    return out
