/**
 * The uids of everyone in group `gid`, from the texts of /etc/passwd and /etc/group: those who
 * have it as their primary group and those listed as its members. Null when the group is not
 * in /etc/group or a listed member is not in /etc/passwd (who that is cannot be told).
 */
export function groupMemberUids(
  gid: number,
  passwdText: string,
  groupText: string,
): Set<number> | null {
  const users = new Map<string, { uid: number; gid: number }>();
  for (const line of passwdText.split('\n')) {
    const [name, , uid, primary] = line.split(':');
    if (
      name &&
      uid !== undefined &&
      primary !== undefined &&
      /^\d+$/.test(uid) &&
      /^\d+$/.test(primary)
    )
      users.set(name, { uid: Number(uid), gid: Number(primary) });
  }
  const entry = groupText
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields.length >= 4 && fields[2] === String(gid));
  if (entry === undefined) return null;
  const members = new Set<number>();
  for (const user of users.values()) if (user.gid === gid) members.add(user.uid);
  for (const name of (entry[3] ?? '').split(',').map((member) => member.trim())) {
    if (name === '') continue;
    const user = users.get(name);
    if (user === undefined) return null;
    members.add(user.uid);
  }
  return members;
}
