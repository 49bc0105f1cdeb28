// What the JavaScript test clients share: a name resolver for names no resolver knows, and a
// browser form posted with Node's fetch.

// Every name resolved to 127.0.0.1 (virtual-hosted names under the test domain) and recorded
// in `hosts`, for an http.Agent's `lookup`.
export function loopbackRecording(hosts) {
  return (host, options, callback) => {
    hosts.add(host);
    if (options.all) callback(null, [{ address: "127.0.0.1", family: 4 }]);
    else callback(null, "127.0.0.1", 4);
  };
}

// A form of `fields` and a file of `text`, posted as multipart/form-data: the answer.
export async function postForm(url, fields, text, type) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append("file", new Blob([text], type ? { type } : {}), "form.txt");
  return fetch(url, { method: "POST", body: form });
}

// What a presigned PUT, a presigned GET and a form post answered.
export async function presignedAnswers(putStatus, got, posted) {
  return {
    putStatus,
    getStatus: got.status,
    getType: got.headers.get("content-type"),
    getBody: await got.text(),
    postStatus: posted.status,
  };
}
