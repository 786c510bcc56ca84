// The hub's dashboard API: REST with the person's bearer token, and the event stream read
// through fetch (EventSource cannot send an Authorization header; a token in a URL would end
// up in logs and history).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class Api {
  constructor(token) {
    this.token = token;
  }

  headers(extra = {}) {
    return { Authorization: `Bearer ${this.token}`, ...extra };
  }

  async request(method, path, body) {
    const init = { method, headers: this.headers(body ? { "Content-Type": "application/json" } : {}) };
    if (body) init.body = JSON.stringify(body);
    const response = await fetch(path, init);
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = (data && data.error) || { code: "http_" + response.status, message: response.statusText };
      throw new ApiError(response.status, error.code, error.message);
    }
    return data;
  }

  get(path) { return this.request("GET", path); }

  // A file as is (a run's transcript or plot): the response, once the hub said yes.
  async raw(path) {
    const response = await fetch(path, { headers: this.headers() });
    if (!response.ok) {
      const data = await response.json().catch(() => null);
      const error = (data && data.error) || { code: "http_" + response.status, message: response.statusText };
      throw new ApiError(response.status, error.code, error.message);
    }
    return response;
  }
  post(path, body) { return this.request("POST", path, body); }

  // Calls onEvent(event) for each event; resolves when the stream ends; throws ApiError when
  // the hub refuses it (bad token).
  async stream(onEvent, signal) {
    const response = await fetch("/v1/dashboard/events", { headers: this.headers(), signal });
    if (!response.ok) {
      const data = await response.json().catch(() => null);
      const error = (data && data.error) || { code: "http_" + response.status, message: response.statusText };
      throw new ApiError(response.status, error.code, error.message);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      // one split per read (a read may carry hundreds of events), the unfinished tail kept
      const blocks = (buffer + decoder.decode(value, { stream: true })).split("\n\n");
      buffer = blocks.pop();
      for (const block of blocks) {
        for (const line of block.split("\n")) {
          if (line.startsWith("data: ")) onEvent(JSON.parse(line.slice(6)));
        }
      }
    }
  }
}
