//! One test per error-handling rule of RFC 7606 (and of RFC 4271 section 6.3,
//! RFC 6793, RFC 7607, RFC 8092 and RFC 9234 where they add rules), each
//! named after its section. UPDATEs are assembled by hand, byte by byte.

use bgp_proto::attribute::{PathAttribute, RawAttribute, flags};
use bgp_proto::message::Update;
use bgp_proto::{CodecCtx, DecodeError, ErrorAction, Findings, Message, PeerType, decode_message};

const WELL_KNOWN: u8 = 0x40;
const OPTIONAL: u8 = 0x80;
const OPTIONAL_TRANSITIVE: u8 = 0xc0;

/// One attribute: flags, type, 1-octet length, value.
fn attr(flag_bits: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![flag_bits, code, value.len() as u8];
    out.extend_from_slice(value);
    out
}

fn origin() -> Vec<u8> {
    attr(WELL_KNOWN, 1, &[0])
}

fn as_path() -> Vec<u8> {
    attr(WELL_KNOWN, 2, &[2, 1, 0, 0, 0xfd, 0xe8])
}

fn next_hop() -> Vec<u8> {
    attr(WELL_KNOWN, 3, &[192, 0, 2, 1])
}

/// ORIGIN, AS_PATH and NEXT_HOP followed by `extra`.
fn mandatory_plus(extra: &[u8]) -> Vec<u8> {
    [origin(), as_path(), next_hop(), extra.to_vec()].concat()
}

/// A complete UPDATE message from its three fields.
fn update_bytes(withdrawn: &[u8], attributes: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&(withdrawn.len() as u16).to_be_bytes());
    body.extend_from_slice(withdrawn);
    body.extend_from_slice(&(attributes.len() as u16).to_be_bytes());
    body.extend_from_slice(attributes);
    body.extend_from_slice(nlri);
    let mut msg = vec![0xff; 16];
    msg.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    msg.push(2);
    msg.extend_from_slice(&body);
    msg
}

const NLRI: [u8; 4] = [24, 10, 0, 1];

fn ibgp() -> CodecCtx {
    CodecCtx::default()
}

fn ebgp() -> CodecCtx {
    CodecCtx::default().with_peer_type(PeerType::External)
}

fn decode(msg: &[u8], ctx: &CodecCtx) -> Result<(Update, Findings), DecodeError> {
    let decoded = decode_message(msg, ctx)?;
    match decoded.message {
        Message::Update(update) => Ok((update, decoded.findings)),
        other => panic!("not an UPDATE: {other:?}"),
    }
}

/// Decode and expect exactly one finding of `action` for attribute `code`,
/// with the attribute gone from the result.
fn expect_finding(msg: &[u8], ctx: &CodecCtx, code: u8, action: ErrorAction) -> Update {
    let (update, findings) = decode(msg, ctx).expect("session must survive");
    let list: Vec<_> = findings.iter().collect();
    assert_eq!(list.len(), 1, "findings: {list:?}");
    assert_eq!(list[0].type_code, code);
    assert_eq!(list[0].action, action);
    assert_eq!(
        findings.treat_as_withdraw(),
        action == ErrorAction::TreatAsWithdraw
    );
    assert!(
        update.attributes.iter().all(|a| a.type_code() != code),
        "attribute {code} must not be kept"
    );
    update
}

/// Decode and expect a session reset with NOTIFICATION (3, `subcode`).
fn expect_reset(msg: &[u8], ctx: &CodecCtx, subcode: u8) -> DecodeError {
    let err = decode(msg, ctx).expect_err("session must be reset");
    let n = err.notification();
    assert_eq!((n.code, n.subcode), (3, subcode), "{err}");
    err
}

#[test]
fn a_well_formed_update_has_no_findings() {
    let msg = update_bytes(&[], &mandatory_plus(&[]), &NLRI);
    let (update, findings) = decode(&msg, &ibgp()).unwrap();
    assert!(findings.is_empty());
    assert_eq!(update.nlri.len(), 1);
    assert_eq!(update.attributes.len(), 3);
}

#[test]
fn rfc7606_3_a_wrong_flags_on_a_well_known_attribute_is_treat_as_withdraw() {
    let attrs = [attr(OPTIONAL_TRANSITIVE, 1, &[0]), as_path(), next_hop()].concat();
    let msg = update_bytes(&[], &attrs, &NLRI);
    expect_finding(&msg, &ibgp(), 1, ErrorAction::TreatAsWithdraw);
}

#[test]
fn rfc7606_3_a_wrong_flags_on_an_optional_attribute_is_treat_as_withdraw() {
    // MULTI_EXIT_DISC marked transitive.
    let msg = update_bytes(&[], &mandatory_plus(&attr(0xc0, 4, &[0, 0, 0, 1])), &NLRI);
    expect_finding(&msg, &ibgp(), 4, ErrorAction::TreatAsWithdraw);
}

#[test]
fn rfc4271_4_3_reserved_flag_bits_and_partial_on_well_known_are_ignored() {
    let attrs = [attr(WELL_KNOWN | 0x2f, 1, &[2]), as_path(), next_hop()].concat();
    let msg = update_bytes(&[], &attrs, &NLRI);
    let (update, findings) = decode(&msg, &ibgp()).unwrap();
    assert!(findings.is_empty());
    assert_eq!(
        update.origin(),
        Some(bgp_proto::attribute::Origin::Incomplete)
    );
}

#[test]
fn rfc7606_3_extended_length_is_accepted_on_any_attribute() {
    let extended_origin = vec![WELL_KNOWN | flags::EXTENDED_LENGTH, 1, 0, 1, 0];
    let attrs = [extended_origin, as_path(), next_hop()].concat();
    let (_, findings) = decode(&update_bytes(&[], &attrs, &NLRI), &ibgp()).unwrap();
    assert!(findings.is_empty());
}

#[test]
fn rfc7606_3_c_a_repeated_attribute_keeps_the_first_copy() {
    let attrs = mandatory_plus(
        &[
            attr(OPTIONAL, 4, &[0, 0, 0, 1]),
            attr(OPTIONAL, 4, &[0, 0, 0, 2]),
        ]
        .concat(),
    );
    let (update, findings) = decode(&update_bytes(&[], &attrs, &NLRI), &ibgp()).unwrap();
    let list: Vec<_> = findings.iter().collect();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].action, ErrorAction::AttributeDiscard);
    assert_eq!(update.med(), Some(1));
}

#[test]
fn rfc7606_3_c_a_repeated_mp_reach_nlri_resets_the_session() {
    let mp = attr(
        OPTIONAL,
        14,
        &[
            0, 2, 1, 16, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 32, 0x20, 1,
            0xd, 0xb8,
        ],
    );
    let attrs = [origin(), as_path(), mp.clone(), mp].concat();
    expect_reset(&update_bytes(&[], &attrs, &[]), &ibgp(), 1);
}

#[test]
fn rfc7606_3_d_missing_origin_is_treat_as_withdraw() {
    let attrs = [as_path(), next_hop()].concat();
    let msg = update_bytes(&[], &attrs, &NLRI);
    let (_, findings) = decode(&msg, &ibgp()).unwrap();
    let finding = findings.iter().next().unwrap();
    assert_eq!(finding.action, ErrorAction::TreatAsWithdraw);
    assert_eq!(finding.error.notification().subcode, 3);
    assert_eq!(&finding.error.notification().data[..], &[1]);
}

#[test]
fn rfc7606_3_d_missing_as_path_and_next_hop_are_treat_as_withdraw() {
    let msg = update_bytes(&[], &origin(), &NLRI);
    let (_, findings) = decode(&msg, &ibgp()).unwrap();
    let codes: Vec<u8> = findings.iter().map(|f| f.type_code).collect();
    assert_eq!(codes, vec![2, 3]);
    assert!(findings.treat_as_withdraw());
}

#[test]
fn rfc7606_3_d_an_update_without_nlri_needs_no_mandatory_attributes() {
    let msg = update_bytes(&NLRI, &[], &[]);
    let (update, findings) = decode(&msg, &ibgp()).unwrap();
    assert!(findings.is_empty());
    assert_eq!(update.withdrawn.len(), 1);
}

#[test]
fn rfc4760_3_next_hop_is_not_required_with_only_mp_reach() {
    let mp = attr(
        OPTIONAL,
        14,
        &[
            0, 2, 1, 16, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 32, 0x20, 1,
            0xd, 0xb8,
        ],
    );
    let attrs = [mp, origin(), as_path()].concat();
    let (update, findings) = decode(&update_bytes(&[], &attrs, &[]), &ibgp()).unwrap();
    assert!(findings.is_empty());
    assert_eq!(update.announced().count(), 1);
}

#[test]
fn rfc7606_4_an_attribute_overrunning_the_field_is_treat_as_withdraw() {
    // MED claims 10 octets, 4 are there.
    let attrs = mandatory_plus(&[OPTIONAL, 4, 10, 0, 0, 0, 1]);
    let (update, findings) = decode(&update_bytes(&[], &attrs, &NLRI), &ibgp()).unwrap();
    assert!(findings.treat_as_withdraw());
    assert_eq!(
        update.nlri.len(),
        1,
        "NLRI are still located through the total length"
    );
}

#[test]
fn rfc7606_4_fewer_than_three_octets_left_is_treat_as_withdraw() {
    let attrs = mandatory_plus(&[OPTIONAL, 4]);
    let (_, findings) = decode(&update_bytes(&[], &attrs, &NLRI), &ibgp()).unwrap();
    assert!(findings.treat_as_withdraw());
}

#[test]
fn rfc7606_4_total_attribute_length_overrunning_the_message_resets() {
    let mut msg = update_bytes(&[], &mandatory_plus(&[]), &[]);
    // Total Path Attribute Length at body offset 2 (message offset 21).
    msg[21..23].copy_from_slice(&200u16.to_be_bytes());
    let err = expect_reset(&msg, &ibgp(), 1);
    assert_eq!(err.offset, 21);
}

#[test]
fn rfc7606_4_withdrawn_length_overrunning_the_message_resets() {
    let mut msg = update_bytes(&[], &[], &[]);
    msg[19..21].copy_from_slice(&100u16.to_be_bytes());
    expect_reset(&msg, &ibgp(), 1);
}

#[test]
fn rfc7606_5_3_a_prefix_longer_than_32_bits_resets() {
    let msg = update_bytes(&[], &mandatory_plus(&[]), &[33, 10, 0, 0, 1, 0]);
    let err = expect_reset(&msg, &ibgp(), 10);
    assert!(err.to_string().contains("prefix length 33"));
}

#[test]
fn rfc7606_5_3_a_prefix_overrunning_the_nlri_field_resets() {
    let msg = update_bytes(&[], &mandatory_plus(&[]), &[24, 10, 0]);
    expect_reset(&msg, &ibgp(), 10);
}

#[test]
fn rfc7606_5_3_a_malformed_withdrawn_routes_field_resets() {
    let msg = update_bytes(&[40, 1, 2, 3, 4, 5], &[], &[]);
    expect_reset(&msg, &ibgp(), 10);
}

#[test]
fn rfc7606_7_1_origin_of_wrong_length_is_treat_as_withdraw() {
    let attrs = [attr(WELL_KNOWN, 1, &[0, 0]), as_path(), next_hop()].concat();
    expect_finding(
        &update_bytes(&[], &attrs, &NLRI),
        &ibgp(),
        1,
        ErrorAction::TreatAsWithdraw,
    );
}

#[test]
fn rfc7606_7_1_undefined_origin_value_is_treat_as_withdraw() {
    let attrs = [attr(WELL_KNOWN, 1, &[3]), as_path(), next_hop()].concat();
    let msg = update_bytes(&[], &attrs, &NLRI);
    let (_, findings) = decode(&msg, &ibgp()).unwrap();
    let finding = findings.iter().next().unwrap();
    assert_eq!(finding.action, ErrorAction::TreatAsWithdraw);
    let n = finding.error.notification();
    assert_eq!((n.code, n.subcode), (3, 6));
    assert_eq!(
        &n.data[..],
        &[WELL_KNOWN, 1, 1, 3],
        "data is the whole attribute"
    );
}

#[test]
fn rfc7606_7_2_malformed_as_path_is_treat_as_withdraw() {
    let attrs = [
        origin(),
        attr(WELL_KNOWN, 2, &[2, 3, 0, 0, 0, 1]),
        next_hop(),
    ]
    .concat();
    expect_finding(
        &update_bytes(&[], &attrs, &NLRI),
        &ibgp(),
        2,
        ErrorAction::TreatAsWithdraw,
    );
}

#[test]
fn rfc7606_7_2_unknown_segment_type_is_treat_as_withdraw() {
    let attrs = [
        origin(),
        attr(WELL_KNOWN, 2, &[9, 1, 0, 0, 0, 1]),
        next_hop(),
    ]
    .concat();
    expect_finding(
        &update_bytes(&[], &attrs, &NLRI),
        &ibgp(),
        2,
        ErrorAction::TreatAsWithdraw,
    );
}

#[test]
fn rfc7607_2_as_zero_in_as_path_is_treat_as_withdraw() {
    let attrs = [
        origin(),
        attr(WELL_KNOWN, 2, &[2, 1, 0, 0, 0, 0]),
        next_hop(),
    ]
    .concat();
    expect_finding(
        &update_bytes(&[], &attrs, &NLRI),
        &ibgp(),
        2,
        ErrorAction::TreatAsWithdraw,
    );
}

#[test]
fn rfc7606_7_3_next_hop_of_wrong_length_is_treat_as_withdraw() {
    let attrs = [origin(), as_path(), attr(WELL_KNOWN, 3, &[192, 0, 2, 1, 0])].concat();
    expect_finding(
        &update_bytes(&[], &attrs, &NLRI),
        &ibgp(),
        3,
        ErrorAction::TreatAsWithdraw,
    );
}

#[test]
fn rfc7606_7_4_med_of_wrong_length_is_treat_as_withdraw() {
    let msg = update_bytes(&[], &mandatory_plus(&attr(OPTIONAL, 4, &[0, 1, 2])), &NLRI);
    expect_finding(&msg, &ibgp(), 4, ErrorAction::TreatAsWithdraw);
}

#[test]
fn rfc7606_7_5_local_pref_from_an_external_peer_is_discarded() {
    let msg = update_bytes(
        &[],
        &mandatory_plus(&attr(WELL_KNOWN, 5, &[0, 0, 0, 100])),
        &NLRI,
    );
    expect_finding(&msg, &ebgp(), 5, ErrorAction::AttributeDiscard);
}

#[test]
fn rfc7606_7_5_local_pref_of_wrong_length_from_an_internal_peer_is_treat_as_withdraw() {
    let msg = update_bytes(&[], &mandatory_plus(&attr(WELL_KNOWN, 5, &[0, 100])), &NLRI);
    expect_finding(&msg, &ibgp(), 5, ErrorAction::TreatAsWithdraw);
}

#[test]
fn rfc7606_7_6_atomic_aggregate_with_a_value_is_discarded() {
    let msg = update_bytes(&[], &mandatory_plus(&attr(WELL_KNOWN, 6, &[1])), &NLRI);
    expect_finding(&msg, &ibgp(), 6, ErrorAction::AttributeDiscard);
}

#[test]
fn rfc7606_7_7_aggregator_of_wrong_length_is_discarded() {
    let msg = update_bytes(
        &[],
        &mandatory_plus(&attr(OPTIONAL_TRANSITIVE, 7, &[0, 1, 192, 0, 2])),
        &NLRI,
    );
    expect_finding(&msg, &ibgp(), 7, ErrorAction::AttributeDiscard);
}

#[test]
fn rfc7606_7_7_aggregator_length_follows_the_as_size() {
    // 6 octets is right for a 2-octet session and wrong for a 4-octet one.
    let value = [0xfd, 0xe8, 192, 0, 2, 1];
    let attrs = mandatory_plus(&attr(OPTIONAL_TRANSITIVE, 7, &value));
    let two_octet_attrs = [
        origin(),
        attr(WELL_KNOWN, 2, &[2, 1, 0xfd, 0xe8]),
        next_hop(),
        attr(OPTIONAL_TRANSITIVE, 7, &value),
    ]
    .concat();
    let (update, findings) = decode(
        &update_bytes(&[], &two_octet_attrs, &NLRI),
        &CodecCtx::default().with_four_octet_as(false),
    )
    .unwrap();
    assert!(findings.is_empty());
    assert!(update.attribute(7).is_some());
    expect_finding(
        &update_bytes(&[], &attrs, &NLRI),
        &ibgp(),
        7,
        ErrorAction::AttributeDiscard,
    );
}

#[test]
fn rfc7607_2_aggregator_with_as_zero_is_discarded() {
    let msg = update_bytes(
        &[],
        &mandatory_plus(&attr(OPTIONAL_TRANSITIVE, 7, &[0, 0, 0, 0, 192, 0, 2, 1])),
        &NLRI,
    );
    expect_finding(&msg, &ibgp(), 7, ErrorAction::AttributeDiscard);
}

#[test]
fn rfc7606_7_8_communities_not_a_multiple_of_four_is_treat_as_withdraw() {
    let msg = update_bytes(
        &[],
        &mandatory_plus(&attr(OPTIONAL_TRANSITIVE, 8, &[0, 1, 2])),
        &NLRI,
    );
    expect_finding(&msg, &ibgp(), 8, ErrorAction::TreatAsWithdraw);
}

#[test]
fn rfc7606_7_8_empty_communities_is_treat_as_withdraw() {
    let msg = update_bytes(
        &[],
        &mandatory_plus(&attr(OPTIONAL_TRANSITIVE, 8, &[])),
        &NLRI,
    );
    expect_finding(&msg, &ibgp(), 8, ErrorAction::TreatAsWithdraw);
}

#[test]
fn rfc7606_7_9_originator_id_from_an_external_peer_is_discarded() {
    let msg = update_bytes(
        &[],
        &mandatory_plus(&attr(OPTIONAL, 9, &[10, 0, 0, 1])),
        &NLRI,
    );
    expect_finding(&msg, &ebgp(), 9, ErrorAction::AttributeDiscard);
}

#[test]
fn rfc7606_7_9_originator_id_of_wrong_length_is_treat_as_withdraw() {
    let msg = update_bytes(&[], &mandatory_plus(&attr(OPTIONAL, 9, &[10, 0, 0])), &NLRI);
    expect_finding(&msg, &ibgp(), 9, ErrorAction::TreatAsWithdraw);
}

#[test]
fn rfc7606_7_10_cluster_list_from_an_external_peer_is_discarded() {
    let msg = update_bytes(
        &[],
        &mandatory_plus(&attr(OPTIONAL, 10, &[10, 0, 0, 1])),
        &NLRI,
    );
    expect_finding(&msg, &ebgp(), 10, ErrorAction::AttributeDiscard);
}

#[test]
fn rfc7606_7_10_cluster_list_not_a_multiple_of_four_is_treat_as_withdraw() {
    let msg = update_bytes(
        &[],
        &mandatory_plus(&attr(OPTIONAL, 10, &[10, 0, 0, 1, 2, 3])),
        &NLRI,
    );
    expect_finding(&msg, &ibgp(), 10, ErrorAction::TreatAsWithdraw);
}

#[test]
fn rfc7606_7_11_mp_reach_next_hop_length_inconsistent_with_afi_resets() {
    let mut value = vec![0, 2, 1, 9];
    value.extend([0u8; 9]);
    value.push(0);
    let attrs = [attr(OPTIONAL, 14, &value), origin(), as_path()].concat();
    let err = expect_reset(&update_bytes(&[], &attrs, &[]), &ibgp(), 9);
    assert_eq!(err.location, "MP_REACH_NLRI");
    // The attribute value starts at offset 19 + 2 + 2 + 3; the length octet is 3 further.
    assert_eq!(err.offset, 29);
    assert!(
        err.to_string()
            .starts_with("in MP_REACH_NLRI: next hop length")
    );
}

#[test]
fn rfc7606_7_11_mp_reach_with_malformed_nlri_resets() {
    let mut value = vec![0, 2, 1, 16];
    value.extend([0x20; 16]);
    value.extend([0, 129, 0x20]);
    let attrs = [attr(OPTIONAL, 14, &value), origin(), as_path()].concat();
    expect_reset(&update_bytes(&[], &attrs, &[]), &ibgp(), 10);
}

#[test]
fn rfc7606_7_11_truncated_mp_unreach_resets() {
    let attrs = attr(OPTIONAL, 15, &[0, 2]);
    expect_reset(&update_bytes(&[], &attrs, &[]), &ibgp(), 9);
}

#[test]
fn rfc7606_7_14_extended_communities_not_a_multiple_of_eight_is_treat_as_withdraw() {
    let msg = update_bytes(
        &[],
        &mandatory_plus(&attr(OPTIONAL_TRANSITIVE, 16, &[0; 7])),
        &NLRI,
    );
    expect_finding(&msg, &ibgp(), 16, ErrorAction::TreatAsWithdraw);
}

#[test]
fn rfc7606_7_15_ipv6_extended_communities_not_a_multiple_of_twenty_is_treat_as_withdraw() {
    let msg = update_bytes(
        &[],
        &mandatory_plus(&attr(OPTIONAL_TRANSITIVE, 25, &[0; 19])),
        &NLRI,
    );
    expect_finding(&msg, &ibgp(), 25, ErrorAction::TreatAsWithdraw);
}

#[test]
fn rfc8092_6_large_communities_not_a_multiple_of_twelve_is_treat_as_withdraw() {
    let msg = update_bytes(
        &[],
        &mandatory_plus(&attr(OPTIONAL_TRANSITIVE, 32, &[0; 11])),
        &NLRI,
    );
    expect_finding(&msg, &ibgp(), 32, ErrorAction::TreatAsWithdraw);
}

#[test]
fn rfc9234_5_otc_of_wrong_length_is_treat_as_withdraw() {
    let msg = update_bytes(
        &[],
        &mandatory_plus(&attr(OPTIONAL_TRANSITIVE, 35, &[0, 0, 1])),
        &NLRI,
    );
    expect_finding(&msg, &ibgp(), 35, ErrorAction::TreatAsWithdraw);
}

#[test]
fn rfc6793_6_malformed_as4_path_is_discarded() {
    let ctx = CodecCtx::default().with_four_octet_as(false);
    let attrs = [
        origin(),
        attr(WELL_KNOWN, 2, &[2, 1, 0x5b, 0xa0]),
        next_hop(),
        attr(OPTIONAL_TRANSITIVE, 17, &[2, 2, 0, 3, 0x0d, 0x40]),
    ]
    .concat();
    expect_finding(
        &update_bytes(&[], &attrs, &NLRI),
        &ctx,
        17,
        ErrorAction::AttributeDiscard,
    );
}

#[test]
fn rfc6793_6_as4_path_with_confederation_segments_is_discarded() {
    let ctx = CodecCtx::default().with_four_octet_as(false);
    let attrs = [
        origin(),
        attr(WELL_KNOWN, 2, &[2, 1, 0x5b, 0xa0]),
        next_hop(),
        attr(OPTIONAL_TRANSITIVE, 17, &[3, 1, 0, 3, 0x0d, 0x40]),
    ]
    .concat();
    expect_finding(
        &update_bytes(&[], &attrs, &NLRI),
        &ctx,
        17,
        ErrorAction::AttributeDiscard,
    );
}

#[test]
fn rfc7607_2_as_zero_in_as4_path_is_discarded() {
    let ctx = CodecCtx::default().with_four_octet_as(false);
    let attrs = [
        origin(),
        attr(WELL_KNOWN, 2, &[2, 1, 0x5b, 0xa0]),
        next_hop(),
        attr(OPTIONAL_TRANSITIVE, 17, &[2, 1, 0, 0, 0, 0]),
    ]
    .concat();
    expect_finding(
        &update_bytes(&[], &attrs, &NLRI),
        &ctx,
        17,
        ErrorAction::AttributeDiscard,
    );
}

#[test]
fn rfc6793_4_1_as4_attributes_from_a_four_octet_speaker_are_discarded() {
    let msg = update_bytes(
        &[],
        &mandatory_plus(&attr(OPTIONAL_TRANSITIVE, 17, &[2, 1, 0, 3, 0x0d, 0x40])),
        &NLRI,
    );
    expect_finding(&msg, &ibgp(), 17, ErrorAction::AttributeDiscard);
}

#[test]
fn rfc6793_as4_path_from_a_two_octet_speaker_is_kept_for_reconciliation() {
    let ctx = CodecCtx::default().with_four_octet_as(false);
    let attrs = [
        origin(),
        attr(WELL_KNOWN, 2, &[2, 1, 0x5b, 0xa0]),
        next_hop(),
        attr(OPTIONAL_TRANSITIVE, 17, &[2, 1, 0, 3, 0x0d, 0x40]),
    ]
    .concat();
    let (update, findings) = decode(&update_bytes(&[], &attrs, &NLRI), &ctx).unwrap();
    assert!(findings.is_empty());
    let Some(PathAttribute::As4Path(as4)) = update.attribute(17) else {
        panic!("AS4_PATH missing");
    };
    let merged = bgp_proto::attribute::as_path::reconcile(update.as_path().unwrap(), as4);
    assert_eq!(merged.to_string(), "200000");
}

#[test]
fn rfc4271_5_unknown_optional_transitive_is_kept_and_forwarded_with_partial() {
    let msg = update_bytes(
        &[],
        &mandatory_plus(&attr(OPTIONAL_TRANSITIVE, 99, &[1, 2, 3])),
        &NLRI,
    );
    let (update, findings) = decode(&msg, &ibgp()).unwrap();
    assert!(findings.is_empty());
    let Some(PathAttribute::Raw(raw)) = update.attribute(99) else {
        panic!("unknown attribute not kept");
    };
    assert_eq!(&raw.value[..], &[1, 2, 3]);
    let forwarded = raw
        .for_forwarding()
        .expect("transitive attributes are forwarded");
    assert_eq!(forwarded.flags, OPTIONAL_TRANSITIVE | flags::PARTIAL);
}

#[test]
fn rfc4271_5_unknown_optional_non_transitive_is_marked_for_dropping() {
    let msg = update_bytes(&[], &mandatory_plus(&attr(OPTIONAL, 99, &[1])), &NLRI);
    let (update, _) = decode(&msg, &ibgp()).unwrap();
    let Some(PathAttribute::Raw(raw)) = update.attribute(99) else {
        panic!("unknown attribute not kept");
    };
    assert!(!raw.is_forwarded());
    assert_eq!(raw.for_forwarding(), None::<RawAttribute>);
}

#[test]
fn rfc4271_6_3_unknown_well_known_attribute_resets_with_the_attribute_as_data() {
    let unknown = attr(WELL_KNOWN, 99, &[7]);
    let msg = update_bytes(&[], &mandatory_plus(&unknown), &NLRI);
    let err = expect_reset(&msg, &ibgp(), 2);
    assert_eq!(&err.notification().data[..], &unknown[..]);
}

#[test]
fn rfc7606_3_g_several_errors_use_the_strongest_action() {
    // A discardable error (ATOMIC_AGGREGATE) and a treat-as-withdraw one (MED).
    let extra = [attr(WELL_KNOWN, 6, &[1]), attr(OPTIONAL, 4, &[1])].concat();
    let (_, findings) =
        decode(&update_bytes(&[], &mandatory_plus(&extra), &NLRI), &ibgp()).unwrap();
    assert_eq!(findings.iter().count(), 2);
    assert!(findings.treat_as_withdraw());
}

#[test]
fn attribute_flags_error_data_is_the_whole_attribute() {
    let bad = attr(OPTIONAL_TRANSITIVE, 3, &[192, 0, 2, 1]);
    let attrs = [origin(), as_path(), bad.clone()].concat();
    let (_, findings) = decode(&update_bytes(&[], &attrs, &NLRI), &ibgp()).unwrap();
    let finding = findings.iter().find(|f| f.type_code == 3).unwrap();
    let n = finding.error.notification();
    assert_eq!((n.code, n.subcode), (3, 4));
    assert_eq!(&n.data[..], &bad[..]);
}

#[test]
fn rfc4271_5_partial_bit_is_kept_and_aggregator_follows_the_session_as_size() {
    use bgp_proto::attribute::encode_attributes_to_bytes;
    // AGGREGATOR 65001 192.0.2.9 with Partial set, from a 2-octet session.
    let partial = attr(
        OPTIONAL_TRANSITIVE | flags::PARTIAL,
        7,
        &[0xfd, 0xe9, 192, 0, 2, 9],
    );
    let two = CodecCtx::default().with_four_octet_as(false);
    let attrs = [
        origin(),
        attr(WELL_KNOWN, 2, &[2, 1, 0xfd, 0xe8]),
        next_hop(),
        partial.clone(),
    ]
    .concat();
    let (update, findings) = decode(&update_bytes(&[], &attrs, &NLRI), &two).unwrap();
    assert!(findings.is_empty());
    let kept = update.attribute(7).unwrap();
    // Written back to a 2-octet session: byte-exact, Partial included.
    let same = encode_attributes_to_bytes(std::slice::from_ref(kept), &two);
    assert_eq!(&same[..], &partial[..]);
    // Written to a 4-octet session: the 8-octet form, still Partial.
    let wide = encode_attributes_to_bytes(std::slice::from_ref(kept), &ibgp());
    assert_eq!(&wide[..], &[0xe0, 7, 8, 0, 0, 0xfd, 0xe9, 192, 0, 2, 9]);
    // And its typed value is there for whoever needs it.
    let Some(PathAttribute::Aggregator(agg)) = kept.typed(&two) else {
        panic!("typed AGGREGATOR");
    };
    assert_eq!(agg.asn, 65001);
}
