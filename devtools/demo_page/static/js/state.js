// What the page knows: who you are, your time zone, where you are in the week.

export const state = {
  config: null, // {apiBase, pollSeconds, people}
  person: null,
  token: null,
  zone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
  status: null, // GET /me/calendar
  weekStart: null, // YYYY-MM-DD, a Monday
  cursor: null,
  detailId: null,
  poller: null,
  notesAdded: {}, // conversation id -> [{kind, text}] added in this session (the API has no list)
  outlookSnapshot: null,
};

export const TYPES = {
  check_in: "Check-in",
  wellbeing: "Wellbeing",
  performance_development: "Performance and development",
  mentoring_session: "Mentoring session",
};
export const ZONES = ["Europe/London", "Europe/Paris", "America/New_York", "America/Los_Angeles",
  "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney", "UTC"];
export const REASONS = {
  reconnect_due: "the periodic renewal date has passed",
  sign_in_expired: "the Microsoft sign-in expired",
  access_revoked: "Microsoft revoked the app's access",
  consent_required: "Microsoft needs the app approved again",
  not_assigned: "your organisation has not assigned you to the app: ask your admin",
};

export const sameOrg = (p) => p.orgId === state.person.orgId;
export const personById = (id) => state.config.people.find((p) => p.userId === id);
