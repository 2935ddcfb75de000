/*
 * signer_header.h - handing the signer a header collected elsewhere.
 *
 * A caller that must read the whole header before it knows what to sign
 * (the policy's message path: From:, Sender: and X-DKIM-Options decide
 * the signatures) collects the fields in a header_fields itself and then
 * gives them to the signer in one move, instead of field by field through
 * vdkim_signer_header(): the bytes the decision read are the bytes
 * signed, held once.
 */
#ifndef VDKIM_SIGNER_HEADER_H
#define VDKIM_SIGNER_HEADER_H

#include "header_fields.h"
#include "vdkim/dkim.h"

/*
 * After the signatures are added (vdkim_signer_add) and before any header
 * field: the signer takes hf over (its arena and index; hf is left empty,
 * ready for header_fields_free) as the message's whole header.  The next
 * call is vdkim_signer_eoh().  VDKIM_ESTATE when fields were already given.
 */
vdkim_rc signer_take_header(vdkim_signer *s, header_fields *hf,
    vdkim_error *err);

#endif
