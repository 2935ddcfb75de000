-- tests/milter/big_header.lua - one message whose header is about 5.4 KB
-- (tests/milter/san.sh sets SOCK and EXPECT): EXPECT=refused, over
-- max-header-size: 552 5.3.4 and nothing signed; EXPECT=signed: signed.
local sock = os.getenv("SOCK")
local expect = os.getenv("EXPECT")

local function fail(what)
	io.stderr:write("FAIL " .. what .. "\n")
	os.exit(1)
end

local conn = mt.connect(sock, 40, 0.25)
if conn == nil then fail("connect to " .. sock) end
if mt.negotiate(conn, nil, nil, nil) then fail("negotiate") end
if mt.macro(conn, SMFIC_CONNECT, "{daemon_name}", "vmta-a") then fail("macro") end
if mt.conninfo(conn, "localhost", "127.0.0.1") then fail("conninfo") end
if mt.mailfrom(conn, "<user@sign.example>") then fail("mailfrom") end
if mt.rcptto(conn, "<rcpt@dest.example>") then fail("rcptto") end
if mt.header(conn, "From", " <user@sign.example>") then fail("header") end
if mt.header(conn, "Subject", " big header") then fail("header") end
for i = 1, 6 do
	if mt.header(conn, "X-Filler-" .. i, " " .. string.rep("y", 900)) then fail("filler") end
end
if mt.eoh(conn) then fail("eoh") end
if mt.bodystring(conn, "x\r\n") then fail("body") end
if mt.eom(conn) then fail("eom") end
if expect == "refused" then
	if mt.getreply(conn) ~= SMFIR_REPLYCODE then fail("a reply code") end
	if not mt.eom_check(conn, MT_SMTPREPLY, "552", "5.3.4", "Message header too large") then
		fail("552 5.3.4 Message header too large")
	end
	if mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature") then fail("signed anyway") end
elseif not mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature") then
	fail("not signed")
end
mt.disconnect(conn)
print("big header: ok")
