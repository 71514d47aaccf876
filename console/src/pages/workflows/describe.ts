import type { W } from "../../api/client";
import type { Key, Translate } from "../../i18n";

/** A trigger in the words of the screens: "yearly on Birthday at 08:00". */
export function describeTrigger(trigger: W["Trigger"], t: Translate): string {
  switch (trigger.type) {
    case "time": {
      const offset = trigger.offset;
      const when =
        !offset || offset.amount === 0
          ? t("when.onTheDay")
          : `${offset.amount} ${t(`unit.${offset.unit}` as Key)} ${t(`direction.${offset.direction}` as Key)}`;
      const time = trigger.time_of_day ? ` ${t("when.at")} ${trigger.time_of_day.slice(0, 5)}` : "";
      return `${t(`recurrence.${trigger.recurrence}` as Key)}: ${when} ${trigger.date_field}${time}`;
    }
    case "record_event": {
      const watched = trigger.watched_fields?.length ? ` (${trigger.watched_fields.join(", ")})` : "";
      return `${t(`event.${trigger.on}` as Key)}${watched}`;
    }
    case "score":
      return `${t("kind.scoring")} → ${trigger.score_field}`;
    case "approval":
      return `${t("kind.approval")}: ${trigger.steps.length} ${t("when.steps")}`;
  }
}
