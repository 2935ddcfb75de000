#!/usr/bin/perl
# maildkim_peer.pl - Mail::DKIM (libmail-dkim-perl) as a reference verifier.
#
#   perl tests/peers/maildkim_peer.pl verify FILE...
#
# Prints one line per signature:
#   FILE dkim=RESULT d=D s=S a=ALG [(detail)]
# RESULT is Mail::DKIM's result (pass, fail, invalid, temperror, none, ...)
# mapped to RFC 8601 words: "invalid" becomes permerror.  Keys come from
# DNS (Net::DNS reads /etc/resolv.conf).  Exit 0 only if every file has at
# least one passing signature.
#
# Bare LF line ends are turned into CRLF, and a missing final line end is
# added, before verifying, as an MTA would receive the message over SMTP.  Debian 12's Mail::DKIM verifies RSA
# only (no Ed25519): an ed25519-sha256 signature comes out as "invalid".
use strict;
use warnings;
use Mail::DKIM::Verifier;

sub usage {
	print STDERR "usage: maildkim_peer.pl verify FILE...\n";
	exit 2;
}

sub clean {
	my ($s) = @_;
	$s = '' unless defined $s;
	$s =~ s/\s+/ /g;
	$s =~ s/^ | $//g;
	return $s;
}

sub verify_file {
	my ($path) = @_;
	my $fh;
	unless (open($fh, '<:raw', $path)) {
		print "$path dkim=error (cannot read: $!)\n";
		return 0;
	}
	my $msg = do { local $/; <$fh> };
	close($fh);
	$msg = '' unless defined $msg;
	$msg =~ s/\r?\n/\r\n/g;
	# Over SMTP a message always ends in CRLF; Mail::DKIM's simple body
	# canonicalization would not add the missing one itself.
	$msg .= "\r\n" if length($msg) && $msg !~ /\r\n\z/;

	my $dkim = Mail::DKIM::Verifier->new();
	my $ok = eval {
		# feed in pieces, as a mail server would
		my $len = length($msg);
		for (my $off = 0; $off < $len; $off += 65536) {
			$dkim->PRINT(substr($msg, $off, 65536));
		}
		$dkim->CLOSE();
		1;
	};
	unless ($ok) {
		print "$path dkim=error (Mail::DKIM died: " . clean($@) . ")\n";
		return 0;
	}
	my @sigs = $dkim->signatures;
	unless (@sigs) {
		print "$path dkim=none (no signature)\n";
		return 0;
	}
	my $passed = 0;
	for my $sig (@sigs) {
		my $res = $sig->result // 'none';
		my $detail = clean($sig->result_detail);
		my $word = $res eq 'invalid' ? 'permerror' : $res;
		$passed++ if $res eq 'pass';
		my $d = clean(eval { $sig->domain } // '?');
		my $s = clean(eval { $sig->selector } // '?');
		my $a = clean(eval { $sig->algorithm } // '?');
		printf "%s dkim=%s d=%s s=%s a=%s%s\n", $path, $word, $d, $s, $a,
		    ($detail ne '' && $detail ne $res) ? " ($detail)" : '';
	}
	return $passed > 0;
}

usage() unless @ARGV >= 2 && $ARGV[0] eq 'verify';
shift @ARGV;
$| = 1;
my $all = 1;
for my $f (@ARGV) {
	$all = 0 unless verify_file($f);
}
exit($all ? 0 : 1);
