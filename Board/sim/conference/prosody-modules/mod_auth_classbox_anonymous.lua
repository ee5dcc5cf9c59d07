-- Anonymous login that lets a dropped client resume its XEP-0198 session, the way Jitsi
-- Meet's Prosody does it (written for Classbox's local conference server).
--
-- Why: mod_smacks looks a resumption up under the *new* connection's user name, and stock
-- anonymous login draws a fresh random name for every connection, so a resume after a
-- dropped WebSocket always fails with item-not-found. Jitsi's anonymous and token auth
-- modules read `previd=` from the WebSocket URL (lib-jitsi-meet writes the resumption id
-- there before it reconnects) and give the connection the name of the hibernating session
-- that holds that id. This module does the same; without `previd`, or when no session holds
-- the id, the login is an ordinary anonymous one with a new random name.
--
-- With `classbox_token_secret = "…"` on the host it is also a small stand-in for Jitsi's token
-- authentication (mod_auth_token is not in Debian): the login needs `token=` on the URL, a JWT
-- signed HS256 with that secret (Prosody's util.jwt checks the signature), whose `exp` and
-- `nbf` hold now and whose `room` claim, if any, is `*` or the URL's `room=`. It checks at
-- every login — the first, each reconnect and each resume — as Jitsi's does; a refusal is
-- `not-allowed` with the reason as text ("token expired", …), never the token. Only WebSocket
-- logins need one: the simulated participants log in over c2s TCP (a real deployment would
-- give them tokens of their own, or a guest domain).
--
-- Enable with `plugin_paths = { "<this directory>" }` and `authentication = "classbox_anonymous"`.

local sasl = require "util.sasl";
local formdecode = require "util.http".formdecode;
local random_name = require "util.id".medium;
local jwt = require "util.jwt";

local token_secret = module:get_option_string("classbox_token_secret");

local host = module.host;
local provider = {};

function provider.test_password() return nil, "password login is not offered here"; end
function provider.get_password() return nil, "password login is not offered here"; end
function provider.set_password() return nil, "password login is not offered here"; end
function provider.user_exists() return nil, "only anonymous users exist here"; end
function provider.create_user() return nil, "accounts cannot be created here"; end
function provider.delete_user() return nil, "accounts cannot be deleted here"; end
function provider.users() return next, prosody.hosts[host].sessions, nil; end

-- The user name of this host's session that holds resumption id `previd` (hibernating or
-- not yet noticed as gone), or nil.
local function name_holding(previd)
	for username, user in pairs(prosody.hosts[host].sessions or {}) do
		for _, session in pairs(user.sessions or {}) do
			if session.resumption_token == previd then return username; end
		end
	end
end

function provider.get_sasl_handler(session)
	local handler = sasl.new(host, { anonymous = function() return true; end });
	handler.classbox_previd = session.classbox_previd;
	handler.classbox_token = session.classbox_token;
	handler.classbox_room = session.classbox_room;
	handler.classbox_token_secret = session.classbox_websocket and token_secret or nil;
	return handler;
end

-- Replaces the ANONYMOUS mechanism (util.sasl keeps one table for every host): the stock
-- one always draws a new name.
-- Why a token is refused, or nil when it is good (claims as Jitsi's token/util.lib.lua checks them).
local function token_problem(handler)
	if not handler.classbox_token then return "token required"; end
	local ok, claims = jwt.verify(handler.classbox_token_secret, handler.classbox_token);
	if not ok then return "token not valid: " .. tostring(claims); end
	local now = os.time();
	if type(claims.exp) ~= "number" then return "token has no expiry"; end
	if now >= claims.exp then return "token expired"; end
	if type(claims.nbf) == "number" and now < claims.nbf then return "token not yet valid"; end
	if claims.room ~= nil and claims.room ~= "*" and claims.room ~= handler.classbox_room then return "token is for another room"; end
end

sasl.registerMechanism("ANONYMOUS", { "anonymous" }, function(self)
	if self.classbox_token_secret then
		local problem = token_problem(self);
		if problem then
			module:log("info", "login refused: %s", problem);
			return "failure", "not-allowed", problem;
		end
	end
	local previous = self.classbox_previd and name_holding(self.classbox_previd);
	local username = previous or random_name():lower();
	if not self.profile.anonymous(self, username, self.realm) then return "failure", "not-authorized"; end
	self.username = username;
	if previous then module:log("info", "login with previd: the name of the session to resume is given back"); end
	return "success";
end);

-- The WebSocket URL's query (`?room=…&previd=…`), kept on the connection's session.
module:hook_global("websocket-session", function(event)
	local query = event.request.url and event.request.url.query;
	local form = query and formdecode(query);
	event.session.classbox_websocket = true;
	if type(form) ~= "table" then return; end
	if form.previd and form.previd ~= "" then event.session.classbox_previd = form.previd; end
	if form.token and form.token ~= "" then event.session.classbox_token = form.token; end
	event.session.classbox_room = form.room;
end);

-- Anonymous users do not talk to other servers (as mod_auth_anonymous).
module:hook("route/remote", function() return false; end, 300);

module:provides("auth", provider);
