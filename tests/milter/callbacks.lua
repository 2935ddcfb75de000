-- tests/milter/callbacks.lua - vdkim-milter's callbacks through miltertest
-- (tests/milter/san.sh sets SOCK).  Exits non-zero at the first failure.
local sock = os.getenv("SOCK")

local function fail(what)
	io.stderr:write("FAIL " .. what .. "\n")
	os.exit(1)
end

-- One message: headers (pairs), a body; returns the connection at eom.
local function message(daemon, headers, body)
	local conn = mt.connect(sock, 40, 0.25)
	if conn == nil then fail("connect to " .. sock) end
	if mt.negotiate(conn, nil, nil, nil) then fail("negotiate") end
	if mt.macro(conn, SMFIC_CONNECT, "{daemon_name}", daemon) then fail("macro") end
	if mt.conninfo(conn, "localhost", "127.0.0.1") then fail("conninfo") end
	if mt.mailfrom(conn, "<user@sign.example>") then fail("mailfrom") end
	if mt.getreply(conn) ~= SMFIR_CONTINUE then fail("mailfrom reply") end
	if mt.rcptto(conn, "<rcpt@dest.example>") then fail("rcptto") end
	if mt.getreply(conn) ~= SMFIR_CONTINUE then fail("rcptto reply") end
	for i = 1, #headers, 2 do
		if mt.header(conn, headers[i], headers[i + 1]) then fail("header") end
		if mt.getreply(conn) ~= SMFIR_CONTINUE then fail("header reply") end
	end
	if mt.eoh(conn) then fail("eoh") end
	if mt.bodystring(conn, body) then fail("body") end
	if mt.eom(conn) then fail("eom") end
	return conn
end

local hdrs = { "From", " Sender <user@sign.example>", "To", " rcpt@dest.example",
	"Subject", " san test", "X-Folded", " one\n\ttwo", "X-DKIM-Options", " s=x",
	"X-Virtual-MTA", " strict" }

-- Signed: the signature inserted, X-DKIM-Options and X-Virtual-MTA gone.
for round = 1, 3 do
	local conn = message("vmta-a", hdrs, "Body line.\r\nSecond line.\r\n")
	if mt.getreply(conn) ~= SMFIR_ACCEPT and mt.getreply(conn) ~= SMFIR_CONTINUE then
		fail("signed: eom reply")
	end
	if not mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature") then fail("signed: DKIM-Signature inserted") end
	if not mt.eom_check(conn, MT_HDRCHANGE, "X-DKIM-Options") then fail("signed: X-DKIM-Options removed") end
	if not mt.eom_check(conn, MT_HDRCHANGE, "X-Virtual-MTA") then fail("signed: X-Virtual-MTA removed") end
	mt.disconnect(conn)
end

-- X-Virtual-MTA allowed from vmta-b: strict, no key for nokey.example: 451.
local strict = { "From", " <user@nokey.example>", "Subject", " strict",
	"X-Virtual-MTA", " strict" }
local conn = message("vmta-b", strict, "x\r\n")
if mt.getreply(conn) ~= SMFIR_REPLYCODE then fail("dkim-require: a reply code") end
mt.disconnect(conn)

-- A field whose value holds an empty line (no MTA sends one: as the MTA
-- keeps it, the header would end there, and the signature would cover
-- another message): refused with a reply code, nothing inserted.
local broken = { "From", " <user@sign.example>", "To", " Bob\n\nX-Smuggled: yes" }
conn = message("vmta-a", broken, "x\r\n")
if mt.getreply(conn) ~= SMFIR_REPLYCODE then fail("malformed field: a reply code") end
if mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature") then fail("malformed field: not signed") end
mt.disconnect(conn)

-- A message abandoned half way, then the connection dropped.
conn = mt.connect(sock, 40, 0.25)
if mt.negotiate(conn, nil, nil, nil) then fail("negotiate 2") end
if mt.mailfrom(conn, "<a@sign.example>") then fail("mailfrom 2") end
if mt.header(conn, "From", " <a@sign.example>") then fail("header 2") end
if mt.abort(conn) then fail("abort") end
mt.disconnect(conn, false)
print("callbacks: ok")
