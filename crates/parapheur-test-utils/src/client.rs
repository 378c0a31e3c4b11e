//! The blocking HTTP client of the tests (HTTP Basic) and the responses it returns.

use std::time::Duration;

/// A response reduced to what tests look at.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    /// The FAST error code of the body, if it is a FAST or problem error.
    pub fn error_code(&self) -> Option<i64> {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()?
            .get("errorCode")?
            .as_i64()
    }
    /// The id returned by an upload (bare integer body).
    pub fn id(&self) -> i64 {
        self.text()
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("not an id: {} {}", self.status, self.text()))
    }
}

/// Multipart part description for uploads.
pub enum Part {
    Text(&'static str, String),
    File(&'static str, String, Vec<u8>),
}

pub struct Client {
    http: reqwest::blocking::Client,
    pub base: String,
    auth: Option<(String, String)>,
}

impl Client {
    pub fn new(base: &str, auth: Option<(String, String)>) -> Self {
        let http = reqwest::blocking::Client::builder()
            // The test apps speak plain HTTP (TLS tests build their own client with their CA):
            // parsing the system roots for every client took a sixth of the suite's CPU.
            .tls_built_in_root_certs(false)
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        Self {
            http,
            base: base.to_owned(),
            auth,
        }
    }

    fn req(&self, m: reqwest::Method, path: &str) -> reqwest::blocking::RequestBuilder {
        let r = self.http.request(m, format!("{}{}", self.base, path));
        match &self.auth {
            Some((u, p)) => r.basic_auth(u, Some(p)),
            None => r,
        }
    }

    fn send(r: reqwest::blocking::RequestBuilder) -> Resp {
        let res = r.send().expect("request");
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = res.bytes().expect("body").to_vec();
        Resp {
            status,
            content_type,
            body,
        }
    }

    pub fn get(&self, path: &str) -> Resp {
        Self::send(self.req(reqwest::Method::GET, path))
    }
    pub fn delete(&self, path: &str) -> Resp {
        Self::send(self.req(reqwest::Method::DELETE, path))
    }
    pub fn put_json(&self, path: &str, body: serde_json::Value) -> Resp {
        Self::send(self.req(reqwest::Method::PUT, path).json(&body))
    }
    pub fn post_json(&self, path: &str, body: serde_json::Value) -> Resp {
        Self::send(self.req(reqwest::Method::POST, path).json(&body))
    }
    pub fn post_empty(&self, path: &str) -> Resp {
        Self::send(self.req(reqwest::Method::POST, path))
    }
    pub fn multipart(&self, method: reqwest::Method, path: &str, parts: Vec<Part>) -> Resp {
        let mut form = reqwest::blocking::multipart::Form::new();
        for p in parts {
            form = match p {
                Part::Text(n, v) => form.text(n, v),
                Part::File(n, name, bytes) => form.part(
                    n,
                    reqwest::blocking::multipart::Part::bytes(bytes).file_name(name),
                ),
            };
        }
        Self::send(self.req(method, path).multipart(form))
    }

    /// v2 upload of one file into a provisioned circuit.
    pub fn upload(
        &self,
        siren: &str,
        circuit: &str,
        name: &str,
        bytes: Vec<u8>,
        label: &str,
    ) -> Resp {
        self.multipart(
            reqwest::Method::POST,
            &format!("/parapheur-ws/rest/v1/documents/v2/{siren}/{circuit}/upload"),
            vec![
                Part::File("doc", name.to_owned(), bytes),
                Part::Text("label", label.to_owned()),
            ],
        )
    }

    /// The `stateName`s of a document's history.
    pub fn states(&self, id: i64) -> Vec<String> {
        let r = self.get(&format!("/parapheur-ws/rest/v1/documents/v2/{id}/history"));
        r.json()
            .as_array()
            .unwrap_or_else(|| panic!("history is not an array: {}", r.text()))
            .iter()
            .map(|e| e["stateName"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Native action (`visa`, `reject`, `sign`, `refuse`).
    pub fn act(&self, id: i64, action: &str, comment: Option<&str>) -> Resp {
        let path = format!("/api/v1/documents/{id}/{action}");
        match comment {
            Some(c) => self.post_json(&path, serde_json::json!({ "comment": c })),
            None => self.post_empty(&path),
        }
    }
}
