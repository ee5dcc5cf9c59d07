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
-- Enable with `plugin_paths = { "<this directory>" }` and `authentication = "classbox_anonymous"`.

local sasl = require "util.sasl";
local formdecode = require "util.http".formdecode;
local random_name = require "util.id".medium;

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
	return handler;
end

-- Replaces the ANONYMOUS mechanism (util.sasl keeps one table for every host): the stock
-- one always draws a new name.
sasl.registerMechanism("ANONYMOUS", { "anonymous" }, function(self)
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
	if type(form) == "table" and form.previd and form.previd ~= "" then
		event.session.classbox_previd = form.previd;
	end
end);

-- Anonymous users do not talk to other servers (as mod_auth_anonymous).
module:hook("route/remote", function() return false; end, 300);

module:provides("auth", provider);
