//! Twilio's Messages API: `POST /2010-04-01/Accounts/{sid}/Messages.json`, form-encoded, HTTP
//! basic auth with the account SID and auth token; 201 with the message's `sid`.

use crate::channels::ChannelError;
use crate::channels::wire::send;
use crate::config::Secret;
use serde_json::Value;

pub struct TwilioClient {
    http: reqwest::Client,
    base: String,
    account_sid: String,
    auth_token: Secret,
    from: String,
}

/// Twilio's code for "the recipient has opted out".
const UNSUBSCRIBED: i64 = 21610;

impl TwilioClient {
    pub fn new(base: &str, account_sid: &str, auth_token: Secret, from: &str) -> Result<TwilioClient, ChannelError> {
        Ok(TwilioClient {
            http: super::super::wire::client()?,
            base: base.trim_end_matches('/').to_owned(),
            account_sid: account_sid.to_owned(),
            auth_token,
            from: from.to_owned(),
        })
    }

    pub async fn send(&self, to: &str, body: &str) -> Result<String, ChannelError> {
        let url = format!("{}/2010-04-01/Accounts/{}/Messages.json", self.base, self.account_sid);
        let form = [("To", to), ("From", self.from.as_str()), ("Body", body)];
        let request = self.http.post(url).basic_auth(&self.account_sid, Some(self.auth_token.expose())).form(&form);
        let (status, answer) = send(request, "Twilio").await?;
        if status >= 400 {
            let code = answer.get("code").and_then(Value::as_i64).unwrap_or_default();
            let message = answer.get("message").and_then(Value::as_str).unwrap_or("no message");
            if code == 20429 {
                return Err(ChannelError::RateLimited(std::time::Duration::from_secs(1)));
            }
            let why = if code == UNSUBSCRIBED { "the recipient has opted out".to_owned() } else { message.to_owned() };
            return Err(ChannelError::Rejected(format!("Twilio ({status}, {code}): {why}")));
        }
        answer
            .get("sid")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ChannelError::Rejected("Twilio answered without a message sid".into()))
    }
}
