-- tests/milter/module_error.lua - vdkim-milter in front of a module whose
-- every message fails (tests/milter/failing_module.c): each of its three
-- ways of failing is answered 451 4.3.0, and nothing is signed.
-- tests/milter/san.sh sets SOCK; the {daemon_name} picks the VMTA
-- (vmta-map), which picks the failure.
local sock = os.getenv("SOCK")

local function fail(what)
	io.stderr:write("FAIL " .. what .. "\n")
	os.exit(1)
end

for _, daemon in ipairs({ "fail-begin", "fail-end", "bad-action" }) do
	local conn = mt.connect(sock, 40, 0.25)
	if conn == nil then fail("connect to " .. sock) end
	if mt.negotiate(conn, nil, nil, nil) then fail("negotiate") end
	if mt.macro(conn, SMFIC_CONNECT, "{daemon_name}", daemon) then fail("macro") end
	if mt.conninfo(conn, "localhost", "127.0.0.1") then fail("conninfo") end
	if mt.mailfrom(conn, "<user@sign.example>") then fail("mailfrom") end
	if mt.rcptto(conn, "<rcpt@dest.example>") then fail("rcptto") end
	if mt.header(conn, "From", " <user@sign.example>") then fail("header") end
	if mt.eoh(conn) then fail("eoh") end
	if mt.bodystring(conn, "x\r\n") then fail("body") end
	if mt.eom(conn) then fail("eom") end
	if mt.getreply(conn) ~= SMFIR_REPLYCODE then fail(daemon .. ": a reply code") end
	if not mt.eom_check(conn, MT_SMTPREPLY, "451", "4.3.0",
	    "DKIM: signing failed temporarily (module-error); try again later") then
		fail(daemon .. ": 451 4.3.0 (module-error)")
	end
	if mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature") then fail(daemon .. ": signed") end
	mt.disconnect(conn)
end
print("module errors: ok")
